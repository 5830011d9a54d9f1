"""Markdown rendering is safe for pupils: an XSS corpus and a property over arbitrary input."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rooms import markdown
from rooms.markdown import mentions, render

# The families of the OWASP XSS filter evasion cheat sheet, written as Markdown sources.
VECTORS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://xss.example/xss.js></SCRIPT>",
    "<IMG SRC=\"javascript:alert('XSS');\">",
    "<IMG SRC=javascript:alert('XSS')>",
    "<IMG SRC=JaVaScRiPt:alert('XSS')>",
    "<IMG SRC=`javascript:alert(\"RSnake says, 'XSS'\")`>",
    '<IMG """><SCRIPT>alert("XSS")</SCRIPT>">',
    "<IMG SRC=javascript:alert(String.fromCharCode(88,83,83))>",
    "<IMG SRC=# onmouseover=\"alert('xxs')\">",
    '<IMG SRC=/ onerror="alert(String.fromCharCode(88,83,83))"></img>',
    '<img src=x onerror="&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058&#0000097&#0000108&#0000101&#0000114&#0000116&#0000040&#0000039&#0000088&#0000083&#0000083&#0000039&#0000041">',
    "<IMG SRC=&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;&#97;&#108;&#101;&#114;&#116;&#40;&#39;&#88;&#83;&#83;&#39;&#41;>",
    "<IMG SRC=&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A&#x61&#x6C&#x65&#x72&#x74&#x28&#x27&#x58&#x53&#x53&#x27&#x29>",
    "<IMG SRC=\"jav\tascript:alert('XSS');\">",
    "<IMG SRC=\"jav&#x09;ascript:alert('XSS');\">",
    "<IMG SRC=\" &#14;  javascript:alert('XSS');\">",
    '<SCRIPT/XSS SRC="https://xss.example/xss.js"></SCRIPT>',
    '<BODY onload!#$%&()*~+-_.,:;?@[/|\\]^`=alert("XSS")>',
    '<<SCRIPT>alert("XSS");//\\<</SCRIPT>',
    "<iframe src=https://xss.example/scriptlet.html <",
    "<svg/onload=alert('XSS')>",
    "<svg><script>alert(1)</script></svg>",
    '<a href="javascript:alert(1)">click</a>',
    "[click](javascript:alert(1))",
    "[click](JAVASCRIPT:alert(1))",
    "[click](  javascript:alert(1))",
    "[click](jav&#x09;ascript:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](vbscript:msgbox(1))",
    "![x](javascript:alert(1))",
    '![x](https://tracker.example/pixel.png "title")',
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    '<div style="background-image: url(javascript:alert(1))">x</div>',
    "<style>@import 'https://xss.example/xss.css';</style>",
    '<META HTTP-EQUIV="refresh" CONTENT="0;url=javascript:alert(\'XSS\');">',
    "<TABLE BACKGROUND=\"javascript:alert('XSS')\">",
    "<object data=javascript:alert(1)>",
    '<embed src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    "<form action=javascript:alert(1)><button>x</button></form>",
    "<details open ontoggle=alert(1)>",
    '[a](https://ok.example" onclick="alert(1))',
    '<a href="https://ok.example" onclick="alert(1)">x</a>',
    "<!--<script>alert(1)</script>-->",
    "`<script>alert(1)</script>`",
    "<base href=javascript:alert(1)//>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
]

ALLOWED = {
    "p", "br", "hr", "strong", "em", "del", "code", "pre", "blockquote", "ul", "ol", "li", "a",
    "img", "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
URL_ATTRIBUTES = {"href", "src", "action", "background", "formaction", "data"}


class Elements(HTMLParser):
    """The real elements of an HTML fragment (text that merely looks like a tag is not one)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))


def assert_safe(html: str) -> None:
    parser = Elements()
    parser.feed(html)
    for tag, attrs in parser.found:
        assert tag in ALLOWED, html
        for name, value in attrs:
            assert not name.startswith("on"), html
            if name in URL_ATTRIBUTES:
                url = (value or "").strip().lower()
                assert not url.startswith(("javascript:", "vbscript:", "data:")), html
            if tag == "img" and name == "src":
                assert re.fullmatch(
                    r"/api/files/[A-Za-z0-9_-]+/(content|thumbnail)", value or ""
                ), html


def test_the_corpus_has_at_least_thirty_vectors() -> None:
    assert len(VECTORS) >= 30


@pytest.mark.parametrize("source", VECTORS)
def test_no_vector_survives_rendering(source: str) -> None:
    assert_safe(render(source))


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("<>\"'=/:()[]!` \n&#;javscriptonerrorimgsrcahref")),
        max_size=80,
    )
    | st.text(max_size=80)
)
def test_rendered_html_never_carries_script_handlers_or_js_urls(source: str) -> None:
    assert_safe(render(source))


def test_markdown_still_works() -> None:
    html = render("**bold** and [a link](https://etwinning.example/x) and `code`")
    assert "<strong>bold</strong>" in html and "<code>code</code>" in html
    assert (
        '<a href="https://etwinning.example/x" rel="nofollow noopener noreferrer ugc">a link</a>'
        in html
    )


def test_raw_html_is_shown_as_text() -> None:
    assert render("<b>hi</b>") == "<p>&lt;b&gt;hi&lt;/b&gt;</p>\n"


def test_images_only_from_the_archive() -> None:
    assert 'src="/api/files/abc_D-1/content"' in render("![map](/api/files/abc_D-1/content)")
    assert "src=" not in render("![map](https://elsewhere.example/map.png)")


def test_mentions_are_distinct_lower_case_and_capped() -> None:
    assert mentions("@Ana @ana, hi @bob.k. mail x@y.eu") == ["ana", "bob.k"]
    assert len(mentions(" ".join(f"@user{i}" for i in range(30)))) == 10


def test_an_escaped_at_sign_quotes_a_name_without_mentioning_it() -> None:
    assert mentions(r"as \@ana said, @bob") == ["bob"]
    assert render(r"\@ana") == "<p>@ana</p>\n"


@pytest.mark.parametrize(
    "unsafe",
    [
        "<script>x</script>",
        '<a href="javascript:alert(1)">x</a>',
        '<img src="/x" onerror="alert(1)">',
        '<img src="https://tracker.example/p.png">',
        '<a href=" JavaScript:alert(1)">x</a>',
    ],
)
def test_the_safety_check_itself_catches_unsafe_html(unsafe: str) -> None:
    with pytest.raises(AssertionError):
        assert_safe(unsafe)


PLAIN_ALPHABET = "aZé東1 9 .,?!'\"():;%/-_*#>`[]<&@\n\t~|=+0)"


@settings(max_examples=2000, deadline=None)
@given(
    st.text(alphabet=PLAIN_ALPHABET, max_size=24)
    | st.text(alphabet="aZé東19 .,?!'\"():;%/-", max_size=24)
)
def test_the_plain_text_shortcut_renders_exactly_what_the_full_path_does(source: str) -> None:
    assert render(source) == markdown._render(source)


LINK = '<a href="{0}" rel="nofollow noopener noreferrer ugc">{0}</a>'


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "see https://etwinning.example/x",
            f"<p>see {LINK.format('https://etwinning.example/x')}</p>\n",
        ),
        ("http://a.example/b?c=1.", f"<p>{LINK.format('http://a.example/b?c=1')}.</p>\n"),
        (
            "(https://fr.example/Rh%C3%B4ne_(fleuve))",
            f"<p>({LINK.format('https://fr.example/Rh%C3%B4ne_(fleuve)')})</p>\n",
        ),
        ("*https://a.example*", f"<p><em>{LINK.format('https://a.example')}</em></p>\n"),
    ],
)
def test_a_bare_address_becomes_a_link(source: str, expected: str) -> None:
    assert render(source) == expected


@pytest.mark.parametrize(
    "source",
    [
        "javascript://example.org/%0Aalert(1)",
        "xhttps://glued.example",
        "ftp://files.example",
        "www.example.org and example.org",
        "mailto:teacher@school.example",
        "`https://in.code.example`",
        "    https://in.a.code.block.example",
        "https://",
        "https://bad.example:port",
    ],
)
def test_only_bare_http_and_https_addresses_become_links(source: str) -> None:
    assert "<a " not in render(source), render(source)


def test_a_written_link_is_not_linked_twice() -> None:
    html = render("[our river](https://a.example) <https://b.example>")
    assert html.count("<a ") == 2 and html.count("</a>") == 2


URL_PARTS = ["https://", "http://", "a.example", "/", " ", ".", ")", "(", "x", "é", ":", ",", "?"]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(URL_PARTS), max_size=12).map("".join))
def test_addresses_render_the_same_on_both_paths_and_safely(source: str) -> None:
    assert render(source) == markdown._render(source)
    assert_safe(render(source))
