"""A database connection killed while idle (a restart, an idle-connection
reaper) costs the next request nothing: connections are health-checked
(CONN_HEALTH_CHECKS) before a request reuses them."""
import psycopg
import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection

from controltower.models import Role
from tests.controltower.factories import make_user

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="a PostgreSQL backend to terminate"),
]


def terminate(pid):
    db = connection.settings_dict
    with psycopg.connect(host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], password=db["PASSWORD"],
                         dbname=db["NAME"], autocommit=True) as other:
        assert other.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone() == (True,)


def test_the_production_settings_keep_connections_and_check_them():
    assert settings.DATABASES["default"]["CONN_MAX_AGE"] == 60
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True


def serve(rf, path, cookies):
    """`path` through Django's own WSGI handler, as gunicorn calls it. (The
    test client leaves out the check of old connections at a request's start,
    the very thing under test.)"""
    environ = rf.get(path, HTTP_COOKIE=cookies).environ
    status = []
    body = WSGIHandler()(environ, lambda code, headers, *exc: status.append(int(code.split()[0])))
    b"".join(body)
    body.close()
    return status[0]


def test_the_next_request_after_the_connection_was_killed_succeeds(client, rf):
    client.force_login(make_user(Role.PLANNER))
    cookies = client.cookies.output(header="", sep=";").strip()
    assert serve(rf, "/cases/", cookies) == 200
    with connection.cursor() as cursor:  # the connection the requests share, kept open
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]

    terminate(pid)

    assert serve(rf, "/cases/", cookies) == 200
    assert serve(rf, "/healthz", cookies) == 200
