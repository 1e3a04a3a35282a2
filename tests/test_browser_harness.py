"""The headless-Chromium harness of ``tests/browser.py`` sees what it must see, and can fail.

A clean MathML page loads with no errors and lays out; a console error, an uncaught exception and
an attempted network request are each reported; a screenshot is a real PNG.
"""
import pytest

from tests.browser import BrowserTimeout, JavaScriptError, find_chromium, open_page

pytestmark = pytest.mark.skipif(find_chromium() is None, reason="no Chromium/Chrome binary on PATH")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _page(tmp_path, body, name="page.html"):
    path = tmp_path / name
    path.write_text('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>t</title></head>\n'
                    "<body>\n%s\n</body></html>\n" % body, encoding="utf-8")
    return path


def test_clean_mathml_page_has_no_errors_and_lays_out(tmp_path):
    path = _page(tmp_path, "<p>A fraction:</p>\n<math><mfrac><mi>a</mi><mi>b</mi></mfrac></math>")
    with open_page(path, timeout=30) as page:
        assert page.evaluate("document.querySelectorAll('math').length") == 1
        assert page.evaluate("document.querySelector('math').getBoundingClientRect().height") > 0
        assert page.evaluate("document.querySelector('math') instanceof MathMLElement") is True
        assert page.evaluate("[innerWidth, innerHeight]") == [1280, 900]
        assert page.console_errors == []


def test_console_error_is_reported(tmp_path):
    path = _page(tmp_path, "<p>hi</p><script>console.error('x')</script>")
    with open_page(path, timeout=30) as page:
        errors = page.console_errors
    assert any(e.startswith("console.error: x") for e in errors), errors


def test_uncaught_exception_is_reported(tmp_path):
    path = _page(tmp_path, "<p>hi</p><script>throw new Error('boom')</script>")
    with open_page(path, timeout=30) as page:
        errors = page.console_errors
    assert any(e.startswith("exception:") and "boom" in e for e in errors), errors


def test_attempted_network_request_is_reported_and_blocked(tmp_path):
    path = _page(tmp_path, '<img id="i" src="https://example.com/a.png" alt="">')
    with open_page(path, timeout=30) as page:
        # the request never got an answer: the image did not load
        assert page.evaluate("document.getElementById('i').naturalWidth") == 0
        errors = page.console_errors
    assert "network request: https://example.com/a.png" in errors, errors


def test_evaluate_raises_when_the_expression_throws(tmp_path):
    path = _page(tmp_path, "<p>hi</p>")
    with open_page(path, timeout=30) as page:
        with pytest.raises(JavaScriptError, match="nope"):
            page.evaluate("(() => { throw new Error('nope') })()")
        assert page.evaluate("Promise.resolve(6 * 7)") == 42
        assert page.console_errors == []


def test_screenshot_is_a_png(tmp_path):
    path = _page(tmp_path, "<h1>Screenshot</h1><math><msqrt><mi>x</mi></msqrt></math>")
    png = tmp_path / "shot.png"
    with open_page(path, width=800, height=600, timeout=30) as page:
        assert page.screenshot(png) == png
    data = png.read_bytes()
    assert len(data) > len(PNG_SIGNATURE) and data.startswith(PNG_SIGNATURE)
    # IHDR: width and height of the first screen, big-endian, at bytes 16..24
    assert int.from_bytes(data[16:20], "big") == 800 and int.from_bytes(data[20:24], "big") == 600


def test_a_reply_that_never_comes_times_out(tmp_path):
    path = _page(tmp_path, "<p>hi</p>")
    with open_page(path, timeout=30) as page:
        page.timeout = 1
        with pytest.raises(BrowserTimeout, match="Runtime.evaluate"):
            page.evaluate("new Promise(() => {})")
