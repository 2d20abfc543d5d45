import pytest

from .world import SELLER_GSTIN


@pytest.fixture(autouse=True)
def _seller(settings):
    settings.SELLER_STATE = "Karnataka"
    settings.SELLER_GSTIN = SELLER_GSTIN
    settings.GST_SAC = "998315"
