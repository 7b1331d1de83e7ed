package demo

// product is one item of the demo catalogue. Price is the regular shelf price
// in EUR; it is the same in every market.
type product struct {
	ID       string  `json:"id"`
	Name     string  `json:"name"`
	Category string  `json:"category"`
	Brand    string  `json:"brand"`
	Unit     string  `json:"unit"`
	Price    float64 `json:"price"`
}

// products is the demo catalogue, ordered by id. Names are English; the
// translation backend knows every one of them in German, French and Spanish.
var products = []product{
	// dairy
	{"p1001", "Whole Milk", "dairy", "Weihenstephan", "1 l", 1.29},
	{"p1002", "Semi-Skimmed Milk", "dairy", "Lactel", "1 l", 1.09},
	{"p1003", "Greek Yogurt", "dairy", "Fage", "500 g", 3.49},
	{"p1004", "Salted Butter", "dairy", "Président", "250 g", 2.99},
	{"p1005", "Emmental Cheese", "dairy", "Entremont", "200 g", 2.49},
	{"p1006", "Mozzarella", "dairy", "Galbani", "125 g", 1.19},
	{"p1007", "Free-Range Eggs", "dairy", "Landkost", "10 pcs", 3.29},
	{"p1008", "Oat Drink", "dairy", "Oatly", "1 l", 2.29},
	// bakery
	{"p1009", "Sourdough Bread", "bakery", "Harry", "750 g", 2.79},
	{"p1010", "Butter Croissants", "bakery", "La Boulangère", "6 pcs", 2.49},
	{"p1011", "Whole Wheat Toast", "bakery", "Golden Toast", "500 g", 1.69},
	{"p1012", "Pretzel Rolls", "bakery", "Goldähren", "4 pcs", 1.99},
	{"p1013", "Baguette", "bakery", "Ronde des Pains", "250 g", 0.99},
	// produce
	{"p1014", "Bananas", "produce", "Chiquita", "1 kg", 1.79},
	{"p1015", "Gala Apples", "produce", "Marlene", "1 kg", 2.49},
	{"p1016", "Cherry Tomatoes", "produce", "Bonipomo", "250 g", 1.49},
	{"p1017", "Hass Avocados", "produce", "Mission", "2 pcs", 2.99},
	{"p1018", "Baby Spinach", "produce", "Florette", "150 g", 1.99},
	{"p1019", "Organic Carrots", "produce", "Alnatura", "1 kg", 1.49},
	{"p1020", "Lemons", "produce", "Primaflor", "500 g", 1.29},
	// beverages
	{"p1021", "Sparkling Mineral Water", "beverages", "Gerolsteiner", "1.5 l", 0.79},
	{"p1022", "Still Mineral Water", "beverages", "Evian", "1.5 l", 0.99},
	{"p1023", "Orange Juice", "beverages", "Hohes C", "1 l", 2.49},
	{"p1024", "Cola", "beverages", "Coca-Cola", "1.5 l", 1.89},
	{"p1025", "Ground Coffee", "beverages", "Dallmayr", "500 g", 7.99},
	{"p1026", "Green Tea", "beverages", "Teekanne", "20 bags", 2.19},
	{"p1027", "Pilsner Beer", "beverages", "Beck's", "6 × 0.33 l", 4.99},
	{"p1028", "Rioja Red Wine", "beverages", "Campo Viejo", "0.75 l", 6.99},
	// pantry
	{"p1029", "Spaghetti", "pantry", "Barilla", "500 g", 1.49},
	{"p1030", "Basmati Rice", "pantry", "Ben's Original", "1 kg", 3.29},
	{"p1031", "Extra Virgin Olive Oil", "pantry", "Carbonell", "750 ml", 8.99},
	{"p1032", "Strained Tomatoes", "pantry", "Mutti", "500 g", 1.39},
	{"p1033", "Wheat Flour", "pantry", "Aurora", "1 kg", 0.99},
	{"p1034", "Granulated Sugar", "pantry", "Südzucker", "1 kg", 1.19},
	{"p1035", "Hazelnut Spread", "pantry", "Nutella", "450 g", 3.99},
	{"p1036", "Rolled Oats", "pantry", "Kölln", "500 g", 1.79},
	{"p1037", "Chickpeas", "pantry", "Bonduelle", "400 g", 1.29},
	{"p1038", "Dark Chocolate", "pantry", "Lindt", "100 g", 2.79},
	{"p1039", "Flower Honey", "pantry", "Langnese", "500 g", 4.99},
	// meat and fish
	{"p1040", "Chicken Breast Fillets", "meat", "Wiesenhof", "400 g", 5.49},
	{"p1041", "Ground Beef", "meat", "Tillman's", "500 g", 4.99},
	{"p1042", "Cooked Ham", "meat", "Herta", "150 g", 2.29},
	{"p1043", "Serrano Ham", "meat", "ElPozo", "100 g", 2.99},
	{"p1044", "Grilling Sausages", "meat", "Meica", "400 g", 3.49},
	{"p1045", "Salmon Fillets", "fish", "Deutsche See", "250 g", 5.99},
	// frozen
	{"p1046", "Pizza Margherita", "frozen", "Dr. Oetker", "335 g", 2.99},
	{"p1047", "Frozen Peas", "frozen", "Iglo", "750 g", 2.29},
	{"p1048", "Vanilla Ice Cream", "frozen", "Mövenpick", "900 ml", 4.49},
	{"p1049", "Fish Fingers", "frozen", "Iglo", "450 g", 3.29},
	// household
	{"p1050", "Dishwasher Tablets", "household", "Finish", "40 pcs", 8.99},
	{"p1051", "Toilet Paper", "household", "Zewa", "8 rolls", 3.99},
	{"p1052", "Laundry Detergent", "household", "Persil", "20 loads", 5.99},
	{"p1053", "Washing-Up Liquid", "household", "Pril", "450 ml", 1.49},
	{"p1054", "Kitchen Towels", "household", "Zewa", "4 rolls", 2.99},
	// snacks
	{"p1055", "Salted Potato Chips", "snacks", "Lay's", "150 g", 1.99},
	{"p1056", "Salted Peanuts", "snacks", "ültje", "200 g", 1.79},
}
