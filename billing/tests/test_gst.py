import pytest
from django.core.exceptions import ValidationError

from billing.gst import GSTIN_ALPHABET, STATE_CHOICES, STATE_CODES, gstin_check_character, gstin_validate

# A GSTIN published in GSTN's own examples; its check character is V.
KNOWN_VALID = "27AAPFU0939F1ZV"


def test_the_check_character_of_a_published_gstin_is_computed_by_mod_36():
    assert gstin_check_character(KNOWN_VALID[:14]) == "V"


def test_a_valid_gstin_passes_and_is_normalised():
    assert gstin_validate(" 27aapfu0939f1zv ") == KNOWN_VALID
    assert gstin_validate("27 AAPFU 0939 F1ZV", state="Maharashtra") == KNOWN_VALID


def test_a_wrong_check_character_is_refused():
    with pytest.raises(ValidationError) as exc:
        gstin_validate("27AAPFU0939F1ZW")
    assert exc.value.code == "gstin_check"


def test_every_single_character_typo_is_caught():
    # Mod-36 with alternating weights detects any single substituted character.
    for position in range(15):
        for char in GSTIN_ALPHABET:
            if char == KNOWN_VALID[position]:
                continue
            typo = KNOWN_VALID[:position] + char + KNOWN_VALID[position + 1 :]
            with pytest.raises(ValidationError):
                gstin_validate(typo)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "27AAPFU0939F1Z",
        "27AAPFU0939F1ZVV",
        "27AAPFU0939F1XV",
        "A7AAPFU0939F1ZV",
        "27AAPF00939F1ZV",
        "27AAPFU0939F0ZV",
    ],
)
def test_a_malformed_gstin_is_refused_for_its_format(value):
    with pytest.raises(ValidationError) as exc:
        gstin_validate(value)
    assert exc.value.code == "gstin_format"


def test_a_gstin_with_an_unknown_state_code_is_refused():
    first_14 = "99AAPFU0939F1Z"
    with pytest.raises(ValidationError) as exc:
        gstin_validate(first_14 + gstin_check_character(first_14))
    assert exc.value.code == "gstin_state_unknown"


def test_a_gstin_registered_in_another_state_than_the_billing_state_is_refused():
    with pytest.raises(ValidationError) as exc:
        gstin_validate(KNOWN_VALID, state="Karnataka")
    assert exc.value.code == "gstin_state_mismatch"
    assert "Maharashtra" in exc.value.messages[0]


def test_the_state_list_has_every_state_and_union_territory_once():
    names = [name for name, _ in STATE_CHOICES]
    assert len(names) == len(set(names)) == 36  # 28 states and 8 union territories
    assert STATE_CODES["29"] == "Karnataka"
