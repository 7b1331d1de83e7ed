package demo

import (
	"cmp"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
)

const (
	marketLimitDefault = 10
	marketLimitMax     = 50
	radiusDefaultKM    = 5
	earthRadiusKM      = 6371.0
)

var (
	// marketsByID indexes the markets.
	marketsByID = func() map[string]market {
		m := make(map[string]market, len(markets))
		for _, mk := range markets {
			m[mk.ID] = mk
		}
		return m
	}()
	// cityNames maps a lowercased city name to its canonical spelling.
	cityNames = func() map[string]string {
		m := map[string]string{}
		for _, mk := range markets {
			m[strings.ToLower(mk.City)] = mk.City
		}
		return m
	}()
)

// Cities returns the canonical names of the demo cities, sorted. The
// markets backend accepts them in any letter case.
func Cities() []string {
	out := make([]string, 0, len(cityNames))
	for _, c := range cityNames {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// cityMarkets is the answer of GET /markets.
type cityMarkets struct {
	City    string   `json:"city"`
	Markets []market `json:"markets"`
}

// nearMarket is a market with its distance from the asked point.
type nearMarket struct {
	market
	DistanceKM float64 `json:"distance_km"`
}

// MarketsHandler serves the markets backend:
//
//	GET /markets?city=Berlin&limit=5                               markets of a city (404 unknown city)
//	GET /markets/nearest?lat=52.52&lon=13.40&radius_km=5&limit=10  markets within radius_km, nearest first
//	GET /markets/{id}                                              one market, or 404
func MarketsHandler() http.Handler {
	return wrap(marketsMux(), 0)
}

func marketsMux() *http.ServeMux {
	mux := newMux()
	handle(mux, http.MethodGet, "/markets", listMarkets)
	handle(mux, http.MethodGet, "/markets/nearest", nearestMarkets)
	handle(mux, http.MethodGet, "/markets/{id}", getMarket)
	return mux
}

func listMarkets(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	asked := strings.TrimSpace(q.Get("city"))
	if asked == "" {
		writeProblem(w, http.StatusBadRequest,
			fmt.Sprintf("city is required (one of %s)", strings.Join(Cities(), ", ")))
		return
	}
	limit, err := intParam(q, "limit", marketLimitDefault, marketLimitMax)
	if err != nil {
		writeProblem(w, http.StatusBadRequest, err.Error())
		return
	}
	city, ok := cityNames[strings.ToLower(asked)]
	if !ok {
		writeProblem(w, http.StatusNotFound,
			fmt.Sprintf("unknown city %q; known cities: %s", asked, strings.Join(Cities(), ", ")))
		return
	}
	out := []market{}
	for _, mk := range markets {
		if len(out) == limit {
			break
		}
		if mk.City == city {
			out = append(out, mk)
		}
	}
	writeJSON(w, http.StatusOK, cityMarkets{City: city, Markets: out})
}

func nearestMarkets(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	lat, err := floatParam(q, "lat", -90, 90)
	if err != nil {
		writeProblem(w, http.StatusBadRequest, err.Error())
		return
	}
	lon, err := floatParam(q, "lon", -180, 180)
	if err != nil {
		writeProblem(w, http.StatusBadRequest, err.Error())
		return
	}
	radius := float64(radiusDefaultKM)
	if q.Get("radius_km") != "" {
		radius, err = floatParam(q, "radius_km", 0, math.Pi*earthRadiusKM)
		if err == nil && radius == 0 {
			err = badRequest("radius_km must be greater than 0")
		}
		if err != nil {
			writeProblem(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	limit, err := intParam(q, "limit", marketLimitDefault, marketLimitMax)
	if err != nil {
		writeProblem(w, http.StatusBadRequest, err.Error())
		return
	}

	type candidate struct {
		mk market
		d  float64
	}
	var found []candidate
	for _, mk := range markets {
		if d := haversineKM(lat, lon, mk.Lat, mk.Lon); d <= radius {
			found = append(found, candidate{mk, d})
		}
	}
	slices.SortFunc(found, func(a, b candidate) int {
		return cmp.Or(cmp.Compare(a.d, b.d), cmp.Compare(a.mk.ID, b.mk.ID))
	})
	out := []nearMarket{}
	for _, c := range found[:min(limit, len(found))] {
		out = append(out, nearMarket{market: c.mk, DistanceKM: math.Round(c.d*100) / 100})
	}
	writeJSON(w, http.StatusOK, map[string][]nearMarket{"markets": out})
}

func getMarket(w http.ResponseWriter, r *http.Request) {
	mk, ok := marketsByID[normalizeID(r.PathValue("id"))]
	if !ok {
		writeProblem(w, http.StatusNotFound, fmt.Sprintf("unknown market %q", r.PathValue("id")))
		return
	}
	writeJSON(w, http.StatusOK, mk)
}

// haversineKM is the great-circle distance between two points in km.
func haversineKM(lat1, lon1, lat2, lon2 float64) float64 {
	const rad = math.Pi / 180
	dLat := (lat2 - lat1) * rad
	dLon := (lon2 - lon1) * rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) +
		math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusKM * math.Asin(math.Sqrt(min(1, a)))
}
