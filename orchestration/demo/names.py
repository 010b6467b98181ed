"""Name material of Musterstadt: streets, areas and nationality codes.

Everything here is plain data plus small pure helpers; which names a city gets is decided by the
seeded random streams in `geography`.
"""

from __future__ import annotations

GEMEINDE_CODE = "09999000"
GEMEINDE_NAME = "Musterstadt"

# Stadtbezirke by position (north row west to east, then south row west to east).
BEZIRK_NAMES: tuple[str, ...] = ("Nordwest", "Nord", "Nordost", "Südwest", "Süd", "Südost")

# fmt: off
STADTTEIL_NAMES: tuple[str, ...] = (
    "Altstadt", "Neustadt", "Lindenau", "Eichenhain", "Birkenfeld", "Mühlheide", "Rosenthal",
    "Buchholz", "Hafenviertel", "Kirchdorf", "Bergheim", "Weidenau", "Sonnenhügel", "Schlossberg",
    "Wiesengrund", "Brückenfeld", "Gartenstadt", "Ahornhöhe", "Fischerhude", "Kastanienhof",
    "Tannenbusch", "Erlengrund", "Hasenkamp", "Römerhof",
)

_ROMAN_DIGITS = ((100, "C"), (90, "XC"), (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"))


def roman(number: int) -> str:
    """1 → 'I', 27 → 'XXVII': the numeral that tells a Stadtteil's Stadtviertel apart (1 to 399)."""
    if not 1 <= number < 400:
        raise ValueError(f"{number} has no Stadtviertel numeral (1 to 399)")
    out = []
    for value, numeral in _ROMAN_DIGITS:
        count, number = divmod(number, value)
        out.append(numeral * count)
    return "".join(out)

# Streets that every Musterstadt has; they come first when names are handed out.
CLASSIC_STREETS: tuple[str, ...] = (
    "Hauptstraße", "Bahnhofstraße", "Am Markt", "Lindenweg", "Goethestraße", "Schillerplatz",
    "Kirchstraße", "Schulstraße", "Gartenstraße", "Mühlenweg", "Friedrich-Ebert-Straße",
    "Berliner Straße", "Kölner Straße", "Münchener Straße", "Hamburger Allee", "Frankfurter Ring",
    "Am Bürgerpark", "An der Mühle", "Marktplatz", "Kaiser-Wilhelm-Ring", "Zum Sportplatz",
    "Große Gasse", "Rathausplatz", "Brückenstraße", "Im Winkel",
)

# First parts of compound street names ("Goethe" + "straße").
STREET_STEMS: tuple[str, ...] = (
    "Goethe", "Schiller", "Lessing", "Herder", "Heine", "Mozart", "Beethoven", "Händel", "Dürer",
    "Kant", "Fichte", "Hegel", "Humboldt", "Röntgen", "Liebig", "Luther", "Melanchthon", "Uhland",
    "Mörike", "Hölderlin", "Eichendorff", "Brentano", "Fontane", "Storm", "Raabe", "Wieland",
    "Kleist", "Büchner", "Gutenberg", "Kepler", "Leibniz", "Zeppelin", "Daimler", "Diesel",
    "Bosch", "Siemens", "Grimm", "Rückert", "Körner", "Schubert", "Haydn", "Brahms", "Wagner",
    "Linden", "Eichen", "Birken", "Buchen", "Ahorn", "Kastanien", "Tannen", "Fichten", "Erlen",
    "Pappel", "Ulmen", "Weiden", "Eschen", "Rosen", "Tulpen", "Nelken", "Veilchen", "Flieder",
    "Holunder", "Mühlen", "Brunnen", "Kirch", "Schul", "Garten", "Wiesen", "Feld", "Wald", "Berg",
    "Tal", "Bach", "Brücken", "Burg", "Schloss", "Hof", "Markt", "Post", "Bahnhof", "Hafen",
    "Kanal", "Sonnen", "Sternen", "Rathaus", "Kloster", "Schützen", "Jäger", "Fischer",
    "Gärtner", "Bäcker", "Müller", "Schmiede", "Weber", "Töpfer", "Königs", "Kaiser", "Fürsten",
    "Grafen", "Ritter", "Bürger", "Blumen", "Wein", "Hopfen", "Korn", "Lerchen", "Finken",
    "Amsel", "Drossel", "Schwalben", "Falken", "Adler", "Hirsch", "Fuchs", "Dachs", "Otter",
    "Biber", "Quellen", "Teich", "Weiher", "Auen", "Heide", "Moor", "Hügel", "Höhen", "Gruben",
    "Hütten", "Ziegelei", "Schäfer", "Förster", "Pfarr", "Küster", "Zoll", "Münz", "Salz",
    "Tuchmacher", "Gerber", "Färber", "Seiler", "Böttcher", "Glocken", "Turm", "Tor", "Wall",
    "Graben", "Stein", "Kies", "Sand", "Lehm", "Obst", "Apfel", "Kirschen", "Pflaumen", "Nuss",
)

# Second parts with weights (most streets are "...straße") and grammatical gender.
STREET_SUFFIXES: tuple[tuple[str, int, str], ...] = (
    ("straße", 10, "f"), ("weg", 5, "m"), ("allee", 1, "f"), ("platz", 1, "m"), ("ring", 1, "m"),
    ("gasse", 1, "f"), ("pfad", 1, "m"), ("steig", 1, "m"),
)

# More second parts, used only by cities too large for the first ones (a Berlin-size city has about
# 11,700 streets): appended after the pool above, so that smaller cities draw exactly as before.
MORE_STREET_SUFFIXES: tuple[tuple[str, int, str], ...] = (
    ("damm", 1, "m"), ("winkel", 1, "m"), ("chaussee", 1, "f"), ("zeile", 1, "f"), ("kamp", 1, "m"),
    ("promenade", 1, "f"), ("stieg", 1, "m"), ("grund", 1, "m"),
)

# Adjective stems: "Alt" + "e" before a feminine noun (Alte Gasse), + "er" before a masculine one.
STREET_ADJECTIVES: tuple[str, ...] = ("Alt", "Neu", "Ober", "Unter", "Klein", "Groß", "Hinter")

# Destatis Staatsangehörigkeitsschlüssel (index 0 is German). Weights: share among foreigners.
NATIONALITIES: tuple[tuple[str, str, float], ...] = (
    ("000", "Deutschland", 0.0),
    ("163", "Türkei", 0.22),
    ("152", "Polen", 0.09),
    ("475", "Syrien", 0.11),
    ("137", "Italien", 0.07),
    ("154", "Rumänien", 0.09),
    ("125", "Bulgarien", 0.06),
    ("166", "Ukraine", 0.08),
    ("134", "Griechenland", 0.05),
    ("130", "Kroatien", 0.05),
    ("170", "Serbien", 0.03),
    ("160", "Russische Föderation", 0.04),
    ("438", "Irak", 0.04),
    ("423", "Afghanistan", 0.04),
    ("150", "Kosovo", 0.03),
)

# Second nationalities of Germans (index into NATIONALITIES) with weights.
SECOND_NATIONALITIES: tuple[tuple[int, float], ...] = (
    (1, 0.35), (2, 0.25), (11, 0.2), (4, 0.1), (5, 0.1),
)


# fmt: on


def compound_street(adjective: str | None, stem: str, suffix: str, gender: str) -> str:
    """'Goethe' + 'straße' → 'Goethestraße'; with an adjective 'Alte Goethestraße', 'Alter Lindenweg'."""
    name = f"{stem}{suffix}"
    if not adjective:
        return name
    return f"{adjective}{'e' if gender == 'f' else 'er'} {name}"


def street_name_pool(needed: int = 0) -> list[tuple[str, float]]:
    """Candidate street names (compounds, then with adjectives) with a sampling weight each: at
    least `needed` of them where the name material allows.

    Fixed order and no classics; `geography` puts `CLASSIC_STREETS` first and draws the rest with its
    seeded stream, weighted so that '...straße' dominates and adjective forms come only when needed.
    The second suffix set is added only when the first is too small, so the pool (and with it every
    draw of a city that fits the first set) stays the same for those cities.
    """
    seen: set[str] = set(CLASSIC_STREETS)
    pool: list[tuple[str, float]] = []
    for suffixes in (STREET_SUFFIXES, MORE_STREET_SUFFIXES):
        if pool and len(pool) >= needed:
            break
        for adjective in (None, *STREET_ADJECTIVES):
            for stem in STREET_STEMS:
                for suffix, weight, gender in suffixes:
                    name = compound_street(adjective, stem, suffix, gender)
                    if name not in seen:
                        seen.add(name)
                        pool.append((name, weight * (1.0 if adjective is None else 0.01)))
    return pool


def sort_key_german(name: str) -> str:
    """Alphabetical key as a German street directory sorts: umlauts as base letters, ß as ss."""
    table = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "Ä": "A", "Ö": "O", "Ü": "U"})
    return name.translate(table).replace("ß", "ss").lower()
