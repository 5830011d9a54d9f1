"""Pupil credentials a child can read and type: usernames from their name, passwords from words.

Usernames keep the letters of accented names (Noé Lefèvre gets `noe.lefevre.` and four digits)
by transliterating them to ASCII: Unicode decomposition drops the accents, and a small table
covers the Latin letters that do not decompose (ł, ø, ß, æ, œ, đ, ð, þ, dotless i). Passwords are three
short common words and two digits (`lucky-frog-moon-47`): 263 words give about 8 bits each, so
a password holds about 30.8 bits. Guessing online is rate-limited per username and per address,
and the stored hash is argon2id.
"""

from __future__ import annotations

import math
import secrets
import unicodedata

# Latin letters without a canonical decomposition, as children would spell them in ASCII.
SPECIAL = {
    "ł": "l",
    "ø": "o",
    "ß": "ss",
    "æ": "ae",
    "œ": "oe",
    "đ": "d",
    "ð": "d",
    "þ": "th",
    "\u0131": "i",  # dotless i
}
APOSTROPHES = "'\u2019\u02bc"
STEM_LENGTH = 22  # room for "." and four digits within the 32 characters of a username
SUFFIX_DIGITS = "23456789"  # no 0/1: they read as O and l on a printed sheet

# fmt: off
WORDS = (
    "ant", "apple", "arm", "baby", "bag", "bake", "ball", "band", "bank", "bark", "barn", "bat",
    "bath", "beach", "bean", "bear", "bed", "bee", "bell", "belt", "big", "bike", "bird", "blue",
    "boat", "body", "bone", "book", "boot", "bowl", "box", "brave", "bread", "brick", "bright",
    "brown", "bus", "cake", "calm", "camel", "candy", "cap", "car", "card", "cat", "chair",
    "chalk", "cheese", "chick", "clap", "clean", "climb", "clock", "cloud", "coat", "coin", "cook",
    "cool", "corn", "cow", "crab", "cup", "dance", "deer", "desk", "dog", "doll", "door", "dot",
    "draw", "drum", "duck", "eagle", "early", "egg", "fan", "farm", "fast", "fish", "flag",
    "flute", "fly", "fox", "fresh", "frog", "fruit", "funny", "game", "gate", "gentle", "gift",
    "girl", "glass", "goat", "gold", "golden", "grape", "grass", "gray", "green", "hand", "happy",
    "hat", "hill", "home", "honey", "hop", "horse", "house", "jam", "jar", "jelly", "jolly",
    "juice", "jump", "kick", "kind", "king", "kite", "kiwi", "lake", "lamp", "laugh", "leaf",
    "lemon", "lion", "lip", "little", "loud", "lucky", "magic", "map", "melon", "merry", "milk",
    "mint", "moon", "moose", "mouse", "mud", "nest", "net", "nose", "nut", "oak", "orange", "owl",
    "paint", "panda", "paper", "park", "party", "pea", "peach", "pear", "pen", "piano", "pig",
    "pilot", "pink", "pizza", "plane", "plant", "play", "plum", "pond", "pony", "proud", "puppy",
    "purple", "queen", "quick", "quiet", "rabbit", "rain", "read", "ready", "red", "ride", "ring",
    "river", "road", "robot", "rock", "roof", "rope", "rose", "round", "run", "sail", "salt",
    "sand", "scarf", "sea", "seal", "seed", "sheep", "shell", "shiny", "ship", "shoe", "short",
    "shy", "silly", "silver", "sing", "skip", "sky", "slow", "smart", "smile", "snow", "sock",
    "sofa", "soft", "song", "soup", "spoon", "star", "stone", "sun", "sunny", "super", "swan",
    "sweet", "swim", "table", "tail", "tall", "taxi", "tea", "tent", "tiger", "tiny", "toast",
    "toe", "tomato", "tooth", "towel", "town", "toy", "train", "tree", "truck", "tulip", "van",
    "vest", "walk", "wall", "warm", "whale", "wheel", "wild", "wind", "wing", "wise", "wolf",
    "wood", "write", "yard", "yellow", "young", "zebra",
)
# fmt: on
WORD_COUNT = 3
PASSWORD_BITS = WORD_COUNT * math.log2(len(WORDS)) + math.log2(100)


def ascii_letters(text: str) -> str:
    """`text` in lower-case ASCII letters and digits, accents transliterated, anything else a
    space."""
    out = []
    for ch in unicodedata.normalize("NFKD", text.lower()):
        if unicodedata.combining(ch):
            continue
        if ch in APOSTROPHES:  # O'Brien is obrien, not o.brien
            continue
        ch = SPECIAL.get(ch, ch)
        out.append(ch if ch.isascii() and ch.isalnum() else " ")
    return "".join(out)


def username_stem(display_name: str) -> str:
    """The name's words joined by dots (`noe.lefevre`), at most `STEM_LENGTH` characters; "pupil"
    for a name with no Latin letters or digits at all."""
    stem = ".".join(ascii_letters(display_name).split())[:STEM_LENGTH].strip(".")
    return stem or "pupil"


def pupil_username(display_name: str) -> str:
    """A username for a pupil: the name's stem and four digits (`noe.lefevre.4827`)."""
    return (
        f"{username_stem(display_name)}.{''.join(secrets.choice(SUFFIX_DIGITS) for _ in range(4))}"
    )


def pupil_password() -> str:
    """Three short common words and two digits, joined by dashes (`lucky-frog-moon-47`)."""
    words = [secrets.choice(WORDS) for _ in range(WORD_COUNT)]
    return "-".join([*words, f"{secrets.randbelow(100):02d}"])
