"""The files a user runs the project with: docker compose, the Makefile, CI."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_names_every_service():
    assert set(compose()["services"]) == {"postgres", "redis", "web", "worker", "beat"}


def test_app_services_get_database_redis_and_secret_from_the_environment():
    services = compose()["services"]
    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://") and "@postgres:5432/" in env["DATABASE_URL"]
        assert env["REDIS_URL"] == "redis://redis:6379/0"
        assert env["DJANGO_SECRET_KEY"].startswith("${DJANGO_SECRET_KEY")
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "celery -A commerce_hq worker" in services["worker"]["command"]
    assert "celery -A commerce_hq beat" in services["beat"]["command"]
    assert "gunicorn" in services["web"]["command"] and "8000:8000" in services["web"]["ports"]


def test_beat_uses_the_database_scheduler():
    from django.conf import settings

    assert settings.CELERY_BEAT_SCHEDULER == "django_celery_beat.schedulers:DatabaseScheduler"


def test_ci_runs_the_readme_test_command_with_real_services():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "REQUIRE_SERVICES=1" in ci and "DATABASE_URL=" in ci and "REDIS_URL=" in ci
    assert "make test" in ci and "make test" in (ROOT / "README.md").read_text()


def test_requirements_are_pinned():
    lines = [line for line in (ROOT / "requirements.txt").read_text().splitlines() if line and line[0] != "#"]
    assert lines and all("==" in line for line in lines)
