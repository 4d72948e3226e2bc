"""A minimal Django project in one module (settings configured here, no database)."""

from __future__ import annotations


def make_app():
    """Configure Django once and return its WSGI application."""
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="tests-only",
            ALLOWED_HOSTS=["127.0.0.1", "localhost"],
            ROOT_URLCONF=__name__,
            MIDDLEWARE=[],
            INSTALLED_APPS=[],
            DATABASES={},
            USE_TZ=True,
            SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
        )
        django.setup()
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


def _hello(request, name):
    from django.http import JsonResponse

    return JsonResponse({"hello": name, "method": request.method, "q": request.GET.get("q")})


def _echo(request):
    from django.http import HttpResponse

    return HttpResponse(request.body, content_type="application/octet-stream")


def _stream(request):
    from django.http import StreamingHttpResponse

    return StreamingHttpResponse((b"%d\n" % i for i in range(1000)), content_type="text/plain")


def _secure(request):
    from django.http import JsonResponse

    return JsonResponse({"is_secure": request.is_secure(), "remote": request.META["REMOTE_ADDR"]})


def _urls():
    from django.urls import path

    return [
        path("hello/<str:name>", _hello),
        path("echo", _echo),
        path("stream", _stream),
        path("secure", _secure),
    ]


def __getattr__(name):
    # Django reads ROOT_URLCONF's ``urlpatterns`` lazily, after settings are configured.
    if name == "urlpatterns":
        return _urls()
    raise AttributeError(name)
