from flask import Flask, jsonify, render_template, request

from . import store


def create_app():
    app = Flask(__name__)

    @app.get("/healthz")
    def healthz():
        return jsonify(ok=True)

    @app.get("/")
    def index():
        return render_template("index.html", notes=store.all_notes())

    @app.post("/api/notes")
    def add_note():
        data = request.get_json(silent=True) or {}
        text = (data.get("text") or "").strip()
        if not text:
            return jsonify(error="text is required"), 400
        return jsonify(store.add(text)), 201

    @app.get("/api/notes")
    def list_notes():
        return jsonify(store.all_notes())

    return app
