package main

import (
	"encoding/json"
	"log"
	"net/http"
	"os"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"example.com/shortlink/internal/links"
)

var created = prometheus.NewCounter(prometheus.CounterOpts{
	Name: "shortlink_links_created_total",
	Help: "Short links created since start.",
})

func main() {
	prometheus.MustRegister(created)
	store := links.NewStore()
	r := chi.NewRouter()
	r.Use(middleware.Logger)
	r.Handle("/metrics", promhttp.Handler())
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	r.Post("/links", func(w http.ResponseWriter, req *http.Request) {
		var body struct {
			URL string `json:"url"`
		}
		if err := json.NewDecoder(req.Body).Decode(&body); err != nil || body.URL == "" {
			http.Error(w, "url is required", http.StatusBadRequest)
			return
		}
		l := store.Add(body.URL)
		created.Inc()
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(l)
	})
	r.Get("/l/{id}", func(w http.ResponseWriter, req *http.Request) {
		l, ok := store.Get(chi.URLParam(req, "id"))
		if !ok {
			http.NotFound(w, req)
			return
		}
		http.Redirect(w, req, l.URL, http.StatusFound)
	})
	addr := os.Getenv("ADDR")
	if addr == "" {
		addr = ":8080"
	}
	log.Printf("shortlink listening on %s", addr)
	log.Fatal(http.ListenAndServe(addr, r))
}
