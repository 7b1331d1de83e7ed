package demo

// address is a market's postal address, written the local way
// ("Friedrichstraße 128" in Berlin, "52 Rue de Rivoli" in Paris).
type address struct {
	Street   string `json:"street"`
	Postcode string `json:"postcode"`
	City     string `json:"city"`
}

// market is one supermarket. OpeningHours uses the OpenStreetMap
// opening_hours syntax ("Mo-Sa 07:00-22:00").
type market struct {
	ID           string  `json:"id"`
	Name         string  `json:"name"`
	Chain        string  `json:"chain"`
	Address      address `json:"address"`
	City         string  `json:"city"`
	Lat          float64 `json:"lat"`
	Lon          float64 `json:"lon"`
	OpeningHours string  `json:"opening_hours"`
}

// Opening hours that several markets share.
const (
	hoursDE     = "Mo-Sa 07:00-22:00"
	hoursDELate = "Mo-Sa 07:00-24:00"
	hoursDEDisc = "Mo-Sa 07:00-21:00"
	hoursFR     = "Mo-Sa 08:00-21:00; Su 09:00-13:00"
	hoursFRLate = "Mo-Sa 08:00-22:00; Su 09:00-13:00"
	hoursES     = "Mo-Sa 09:00-21:30"
	hoursESSun  = "Mo-Sa 09:00-21:30; Su 10:00-15:00"
)

// markets is every demo market, ordered by id. Addresses are real streets in
// the right postcode area, with coordinates where that street runs.
var markets = []market{
	// Berlin
	{"ber-01", "REWE City Friedrichstraße", "REWE", address{"Friedrichstraße 128", "10117", "Berlin"}, "Berlin", 52.5262, 13.3873, hoursDELate},
	{"ber-02", "EDEKA Kastanienallee", "EDEKA", address{"Kastanienallee 28", "10435", "Berlin"}, "Berlin", 52.5374, 13.4088, "Mo-Sa 07:00-23:00"},
	{"ber-03", "Lidl Schönhauser Allee", "Lidl", address{"Schönhauser Allee 80", "10439", "Berlin"}, "Berlin", 52.5489, 13.4134, hoursDE},
	{"ber-04", "ALDI Kottbusser Damm", "ALDI Nord", address{"Kottbusser Damm 22", "10967", "Berlin"}, "Berlin", 52.4951, 13.4212, hoursDEDisc},
	{"ber-05", "Kaufland Neukölln", "Kaufland", address{"Karl-Marx-Straße 66", "12043", "Berlin"}, "Berlin", 52.4803, 13.4367, hoursDE},
	{"ber-06", "Bio Company Bergmannstraße", "Bio Company", address{"Bergmannstraße 94", "10961", "Berlin"}, "Berlin", 52.4893, 13.3937, "Mo-Sa 08:00-21:00"},
	{"ber-07", "Netto Frankfurter Allee", "Netto Marken-Discount", address{"Frankfurter Allee 98", "10247", "Berlin"}, "Berlin", 52.5148, 13.4655, hoursDEDisc},
	{"ber-08", "REWE Wilmersdorfer Straße", "REWE", address{"Wilmersdorfer Straße 46", "10627", "Berlin"}, "Berlin", 52.5086, 13.3064, hoursDELate},

	// Paris
	{"par-01", "Monoprix Rivoli", "Monoprix", address{"52 Rue de Rivoli", "75004", "Paris"}, "Paris", 48.8581, 2.3489, hoursFRLate},
	{"par-02", "Franprix Oberkampf", "Franprix", address{"104 Rue Oberkampf", "75011", "Paris"}, "Paris", 48.8656, 2.3784, hoursFRLate},
	{"par-03", "Carrefour City Martyrs", "Carrefour City", address{"28 Rue des Martyrs", "75009", "Paris"}, "Paris", 48.8776, 2.3394, "Mo-Sa 07:00-23:00; Su 08:00-13:00"},
	{"par-04", "Lidl Belleville", "Lidl", address{"44 Rue de Belleville", "75020", "Paris"}, "Paris", 48.8724, 2.3826, hoursFR},
	{"par-05", "Naturalia Saint-Germain", "Naturalia", address{"145 Boulevard Saint-Germain", "75006", "Paris"}, "Paris", 48.8537, 2.3336, "Mo-Sa 09:00-20:30; Su 10:00-13:00"},
	{"par-06", "Auchan Rue du Commerce", "Auchan", address{"76 Rue du Commerce", "75015", "Paris"}, "Paris", 48.8445, 2.2944, hoursFR},
	{"par-07", "Intermarché Express Ternes", "Intermarché", address{"35 Avenue des Ternes", "75017", "Paris"}, "Paris", 48.8789, 2.2966, hoursFR},

	// Madrid
	{"mad-01", "Mercadona Fuencarral", "Mercadona", address{"Calle de Fuencarral 112", "28004", "Madrid"}, "Madrid", 40.4285, -3.7021, hoursES},
	{"mad-02", "Carrefour Express Gran Vía", "Carrefour Express", address{"Gran Vía 48", "28013", "Madrid"}, "Madrid", 40.4203, -3.7063, "Mo-Su 08:00-23:00"},
	{"mad-03", "Dia Embajadores", "Dia", address{"Calle de Embajadores 41", "28012", "Madrid"}, "Madrid", 40.4076, -3.7024, hoursESSun},
	{"mad-04", "El Corte Inglés Supermercado Serrano", "El Corte Inglés", address{"Calle de Serrano 47", "28001", "Madrid"}, "Madrid", 40.4301, -3.6868, "Mo-Sa 10:00-22:00; Su 11:00-21:00"},
	{"mad-05", "Lidl Bravo Murillo", "Lidl", address{"Calle de Bravo Murillo 160", "28020", "Madrid"}, "Madrid", 40.4546, -3.7034, "Mo-Sa 09:00-22:00"},
	{"mad-06", "Ahorramás Atocha", "Ahorramás", address{"Calle de Atocha 87", "28012", "Madrid"}, "Madrid", 40.4124, -3.6986, hoursESSun},
	{"mad-07", "Alcampo Princesa", "Alcampo", address{"Calle de la Princesa 63", "28008", "Madrid"}, "Madrid", 40.4326, -3.7176, hoursES},

	// Hamburg
	{"ham-01", "EDEKA Mühlenkamp", "EDEKA", address{"Mühlenkamp 39", "22303", "Hamburg"}, "Hamburg", 53.5836, 10.0134, "Mo-Sa 07:00-23:00"},
	{"ham-02", "REWE Osterstraße", "REWE", address{"Osterstraße 120", "20259", "Hamburg"}, "Hamburg", 53.5766, 9.9504, hoursDE},
	{"ham-03", "Penny Schulterblatt", "Penny", address{"Schulterblatt 86", "20357", "Hamburg"}, "Hamburg", 53.5626, 9.9614, hoursDEDisc},
	{"ham-04", "ALDI Ottensen", "ALDI Nord", address{"Ottenser Hauptstraße 10", "22765", "Hamburg"}, "Hamburg", 53.5516, 9.9331, hoursDEDisc},
	{"ham-05", "Lidl Wandsbek", "Lidl", address{"Wandsbeker Marktstraße 57", "22041", "Hamburg"}, "Hamburg", 53.5724, 10.0686, hoursDE},
	{"ham-06", "Alnatura Eppendorf", "Alnatura", address{"Eppendorfer Landstraße 60", "20249", "Hamburg"}, "Hamburg", 53.5879, 9.9836, "Mo-Sa 08:00-20:00"},
}
