"""Settings refuse configurations that would give servers away. Each case starts a
real Django process with the environment an operator would set."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

PRODUCTION = {
    "DEBUG": "False",
    "SECRET_KEY": "a-real-secret-for-this-test-only-0123456789",
    "RAZORPAY_KEY_ID": "rzp_test_x",
    "RAZORPAY_KEY_SECRET": "s",
    "RAZORPAY_WEBHOOK_SECRET": "w",
    "EMAIL_BACKEND": "anymail.backends.test.EmailBackend",
    "CACHE_URL": "redis://127.0.0.1:6379/15",
}


def django_starts(**variables):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in PRODUCTION and not key.startswith(("LIBCLOUD", "PROVISIONING"))
    }
    env.update(variables, DJANGO_SETTINGS_MODULE="hostingportal.settings")
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.returncode == 0, result.stderr


@pytest.mark.slow
def test_a_debug_portal_refuses_a_real_cloud_provider():
    started, error = django_starts(DEBUG="True", PROVISIONING_BACKEND="libcloud", LIBCLOUD_PROVIDER="digital_ocean")
    assert not started and "ImproperlyConfigured" in error and "give machines away" in error


@pytest.mark.slow
def test_a_debug_portal_refuses_a_real_cloud_provider_even_with_real_payment_keys():
    variables = {**PRODUCTION, "DEBUG": "True"}
    started, error = django_starts(**variables, PROVISIONING_BACKEND="libcloud", LIBCLOUD_PROVIDER="digital_ocean")
    assert not started and "give machines away" in error


@pytest.mark.slow
def test_production_with_real_keys_runs_a_real_cloud_provider():
    started, error = django_starts(**PRODUCTION, PROVISIONING_BACKEND="libcloud", LIBCLOUD_PROVIDER="digital_ocean")
    assert started, error


@pytest.mark.slow
def test_development_may_use_libclouds_offline_dummy_provider():
    started, error = django_starts(DEBUG="True", PROVISIONING_BACKEND="libcloud", LIBCLOUD_PROVIDER="dummy")
    assert started, error


@pytest.mark.slow
def test_production_refuses_a_per_process_cache_for_the_lockout_counters():
    started, error = django_starts(**{**PRODUCTION, "CACHE_URL": "locmemcache://"})
    assert not started and "CACHE_URL must name a shared cache" in error
