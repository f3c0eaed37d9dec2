import re
import string

from syncclient.web.translations import AR, FR, error_key, translator


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_languages_have_the_same_keys():
    assert set(AR) == set(FR)


def test_same_placeholders_and_no_empty_strings():
    for key in AR:
        assert AR[key].strip() and FR[key].strip(), key
        assert fields(AR[key]) == fields(FR[key]), key


def test_arabic_strings_are_arabic_and_french_ones_are_not():
    arabic = re.compile(r"[\u0600-\u06FF]")
    for key, text in AR.items():
        if key != "lang.other":
            assert arabic.search(text), key
    for key, text in FR.items():
        if key != "lang.other":
            assert not arabic.search(text), key


def test_every_domain_error_code_has_a_message():
    assert error_key("score_out_of_scale", 400) == "err.score_out_of_scale"
    assert error_key("something_new", 404) == "err.not_found"
    assert error_key("", 413) == "err.http.413"
    assert translator("fr")("err.score_out_of_scale_n", scale=20) == "La note doit être entre 0 et 20."


def test_serve_command_registers_and_needs_no_agent_without_a_server(node):
    import argparse

    from cli import serve_command
    from cli.node_commands import _common

    parser = argparse.ArgumentParser()
    serve_command.register(parser.add_subparsers(dest="command"), _common)
    args = parser.parse_args(["serve", "--data", str(node.folder), "--port", "8123"])
    assert (args.host, args.port, args.handler) == ("127.0.0.1", 8123, serve_command.cmd_serve)
    assert serve_command._agent_for(node.folder) is None
