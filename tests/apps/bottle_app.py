"""A small Bottle app: routes, query, JSON bodies and streaming."""

from __future__ import annotations


def make_app():
    """Build the Bottle app (imported lazily so the suite runs without Bottle)."""
    import bottle

    app = bottle.Bottle()

    @app.route("/hello/<name>")
    def hello(name):
        return {"hello": name, "q": bottle.request.query.get("q")}

    @app.post("/json")
    def post_json():
        return {"got": bottle.request.json}

    @app.route("/stream")
    def stream():
        bottle.response.content_type = "text/plain"
        return (b"%d\n" % i for i in range(1000))

    return app
