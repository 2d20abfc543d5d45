"""Indian GST facts the pages need: states and union territories with their GST
state codes (place of supply), and the GSTIN format and check digit."""

import re

from django.conf import settings
from django.core.exceptions import ValidationError

# GST state code -> name, as printed on GST registrations. Names are what we
# store in User.billing_state / Order.buyer_state and compare with SELLER_STATE.
STATE_CODES = {
    "01": "Jammu and Kashmir",
    "02": "Himachal Pradesh",
    "03": "Punjab",
    "04": "Chandigarh",
    "05": "Uttarakhand",
    "06": "Haryana",
    "07": "Delhi",
    "08": "Rajasthan",
    "09": "Uttar Pradesh",
    "10": "Bihar",
    "11": "Sikkim",
    "12": "Arunachal Pradesh",
    "13": "Nagaland",
    "14": "Manipur",
    "15": "Mizoram",
    "16": "Tripura",
    "17": "Meghalaya",
    "18": "Assam",
    "19": "West Bengal",
    "20": "Jharkhand",
    "21": "Odisha",
    "22": "Chhattisgarh",
    "23": "Madhya Pradesh",
    "24": "Gujarat",
    "26": "Dadra and Nagar Haveli and Daman and Diu",
    "27": "Maharashtra",
    "29": "Karnataka",
    "30": "Goa",
    "31": "Lakshadweep",
    "32": "Kerala",
    "33": "Tamil Nadu",
    "34": "Puducherry",
    "35": "Andaman and Nicobar Islands",
    "36": "Telangana",
    "37": "Andhra Pradesh",
    "38": "Ladakh",
}
STATE_CODE_BY_NAME = {name: code for code, name in STATE_CODES.items()}
STATE_CHOICES = sorted(((name, name) for name in STATE_CODES.values()), key=lambda choice: choice[0])

# Services accounting codes a hosting company may use (GST_SAC), as the SAC list names them.
SAC_DESCRIPTIONS = {
    "998313": "Information technology (IT) consulting and support services",
    "998314": "Information technology (IT) design and development services",
    "998315": "Hosting and information technology (IT) infrastructure provisioning services",
    "998316": "IT infrastructure and network management services",
    "998319": "Other information technology services n.e.c.",
}


def sac_description(sac: str) -> str:
    return SAC_DESCRIPTIONS.get(sac, "Information technology services")


GSTIN_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# 2-digit state code, 10-character PAN, entity number, "Z", check character.
GSTIN_FORMAT = re.compile(r"^[0-9]{2}[A-Z]{5}[0-9]{4}[A-Z][1-9A-Z]Z[0-9A-Z]$")


def place_of_supply(buyer_state: str, buyer_gstin: str = "") -> str:
    """The state of supply: that of the buyer's GSTIN (its first two digits: what
    the tax authority sees), else the buyer's chosen state, else, for an
    unregistered buyer who named none (orders made through the API), the seller's."""
    code = (buyer_gstin or "")[:2]
    if code in STATE_CODES:
        return STATE_CODES[code]
    return buyer_state or settings.SELLER_STATE


def state_code(state_name: str) -> str:
    return STATE_CODE_BY_NAME.get(state_name, "")


def seller_state_code() -> str:
    """The seller's GST state: its GSTIN's first two digits, else SELLER_STATE's code."""
    code = (settings.SELLER_GSTIN or "")[:2]
    return code if code in STATE_CODES else state_code(settings.SELLER_STATE)


def is_intra_state(place: str) -> bool:
    """Supply within the seller's state is taxed as CGST + SGST, any other as IGST."""
    code = state_code(place)
    return code == seller_state_code() if code else place == settings.SELLER_STATE


def state_label(name):
    """ "Karnataka (29)" for a known state, the name alone otherwise."""
    code = STATE_CODE_BY_NAME.get(name)
    return f"{name} ({code})" if code else name


def gstin_check_character(first_14: str) -> str:
    """The 15th character of a GSTIN: mod-36 checksum of the first 14, each
    character's value multiplied alternately by 1 and 2, quotient and
    remainder of each product by 36 summed."""
    total = 0
    for index, char in enumerate(first_14):
        product = GSTIN_ALPHABET.index(char) * (1 if index % 2 == 0 else 2)
        total += product // 36 + product % 36
    return GSTIN_ALPHABET[(36 - total % 36) % 36]


def gstin_normalise(value: str) -> str:
    return (value or "").strip().upper().replace(" ", "")


def gstin_validate(value: str, state: str = "") -> str:
    """Return the normalised GSTIN or raise ValidationError with a message a
    customer can act on. With `state`, the GSTIN must be registered there,
    since the invoice's place of supply is that state."""
    gstin = gstin_normalise(value)
    if not GSTIN_FORMAT.match(gstin):
        raise ValidationError(
            "A GSTIN has 15 characters: state code, PAN, entity number, Z and a check character "
            "(for example 29ABCDE1234F1Z5).",
            code="gstin_format",
        )
    if gstin_check_character(gstin[:14]) != gstin[14]:
        raise ValidationError(
            "This GSTIN's check character does not match; please check for typos.", code="gstin_check"
        )
    code = gstin[:2]
    if code not in STATE_CODES:
        raise ValidationError(f"{code} is not a GST state code.", code="gstin_state_unknown")
    if state and STATE_CODES[code] != state:
        raise ValidationError(
            f"This GSTIN is registered in {STATE_CODES[code]}, but the billing state is {state}.",
            code="gstin_state_mismatch",
        )
    return gstin
