"""A small Flask app: JSON, form posts, streaming and a file upload."""

from __future__ import annotations


def make_app():
    """Build the Flask app (imported lazily so the suite runs without Flask)."""
    from flask import Flask, Response, jsonify, request

    app = Flask(__name__)

    @app.route("/hello/<name>")
    def hello(name):
        return jsonify(hello=name, args=request.args.to_dict())

    @app.route("/form", methods=["POST"])
    def form():
        return jsonify(form=request.form.to_dict())

    @app.route("/upload", methods=["POST"])
    def upload():
        f = request.files["file"]
        return jsonify(name=f.filename, size=len(f.read()))

    @app.route("/stream")
    def stream():
        return Response((f"{i}\n" for i in range(1000)), mimetype="text/plain")

    return app
