"""dbt's Jinja templates compiled once per source (orchestration/dbt_templates.py): the kept code is
the code Jinja makes, for every template of the project, in both of dbt's environments; it is found
again by a new process; a folder or file someone else could have written is never loaded."""

from __future__ import annotations

import marshal
import os
from pathlib import Path

import jinja2
import pytest
from dbt_common.clients import jinja as dbt_jinja

from orchestration import dbt_templates
from orchestration.dbt_templates import SUFFIX, compiled_templates_kept

PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"


def _sources() -> list[str]:
    """The project's models, macros and tests, and the macros of dbt and its DuckDB adapter."""
    import dbt.include.duckdb
    import dbt.include.global_project

    own = [p for folder in ("models", "macros", "tests") for p in sorted((PROJECT / folder).rglob("*.sql"))]
    dbts = [
        p for package in (dbt.include.global_project, dbt.include.duckdb)
        for p in sorted(Path(package.__file__).parent.rglob("*.sql"))
    ]  # fmt: skip
    assert len(own) > 80 and len(dbts) > 80
    return [p.read_text(encoding="utf-8") for p in own + dbts]


@pytest.fixture
def kept(tmp_path, monkeypatch):
    """The patch with a folder of its own and an empty memory; Jinja's own compile."""
    monkeypatch.setattr(dbt_templates, "_codes", {})
    folder = tmp_path / "jinja"
    compiled_templates_kept(folder)
    yield folder, dbt_jinja.MacroFuzzEnvironment.compile.jinja_compile
    compiled_templates_kept()  # other tests: in this process only


def _environments():
    return [dbt_jinja.get_environment(), dbt_jinja.get_environment(native=True)]


def test_the_kept_code_is_jinjas_for_every_template_of_the_project(kept):
    folder, jinja_compile = kept
    sources, jinjas = _sources(), {}
    for environment in _environments():
        for source in sources:
            own = jinjas[type(environment), source] = jinja_compile(environment, source)
            assert environment.compile(source) == own  # made and kept
            assert environment.compile(source) == own  # from memory
    dbt_templates._codes.clear()
    for environment in _environments():
        for source in sources:
            assert environment.compile(source) == jinjas[type(environment), source]  # from the folder
    files = list(folder.glob(f"*{SUFFIX}"))
    assert 0 < len(files) <= 2 * len(sources)
    assert {oct(f.stat().st_mode & 0o777) for f in files} == {"0o600"} and oct(folder.stat().st_mode & 0o777) == "0o700"


def test_a_new_process_compiles_nothing_again_and_renders_the_same(kept, monkeypatch):
    folder, jinja_compile = kept
    template = "{% for m in measures %}sum({{ m | upper }}){% if not loop.last %}, {% endif %}{% endfor %}"
    environment = dbt_jinja.get_environment()
    first = environment.from_string(template).render({"measures": ["a", "b"]})
    dbt_templates._codes.clear()  # as a new process: memory empty, the folder kept
    compiled = []
    monkeypatch.setattr(
        jinja2.Environment, "_compile", lambda self, src, fn: compiled.append(fn) or compile(src, fn, "exec")
    )
    again = dbt_jinja.get_environment().from_string(template).render({"measures": ["a", "b"]})
    assert again == first == "sum(A), sum(B)" and compiled == []
    native = dbt_jinja.get_environment(native=True).from_string(template).render({"measures": ["a", "b"]})
    assert native == first and len(compiled) == 1  # another environment: compiled for itself


def test_what_the_code_depends_on_is_in_its_key():
    source = "{{ x | upper }}"
    text, native = _environments()
    keys = {dbt_templates._key(text, source, None, None, False), dbt_templates._key(native, source, None, None, False)}
    assert len(keys) == 2 and None not in keys
    other = dbt_jinja.get_environment()
    other.filters["upper"] = jinja2.pass_context(lambda context, value: value)  # handed the context instead
    assert dbt_templates._key(other, source, None, None, False) not in keys
    trimmed = dbt_jinja.get_environment()
    trimmed.trim_blocks = True
    assert dbt_templates._key(trimmed, source, None, None, False) not in keys
    assert dbt_templates._key(text, source, "name", None, False) not in keys
    assert dbt_templates._key(text, source + " ", None, None, False) not in keys
    escaping = dbt_jinja.get_environment()
    escaping.autoescape = lambda name: True  # not covered by the key: compiled as before
    assert dbt_templates._key(escaping, source, None, None, False) is None
    # Jinja folds constants with the filter functions themselves: another function, another key
    folded = dbt_jinja.get_environment()
    folded.filters["upper"] = lambda value: value.lower()
    assert dbt_templates._key(folded, source, None, None, False) not in keys
    intercepting = dbt_jinja.get_environment()
    intercepting.intercepted_binops = frozenset({"+"})
    assert dbt_templates._key(intercepting, source, None, None, False) not in keys


def test_dbts_parse_compiles_as_before_and_never_hands_its_code_to_a_render(kept):
    """dbt's parse renders with an undefined that records what it meets; Jinja folds constants with
    it while compiling. Code compiled there would render without the error a run raises."""
    source = "select {{ 'x'.nope.foo }}"
    parsing = dbt_jinja.get_environment(node=None, capture_macros=True)
    assert dbt_templates._key(parsing, source, None, None, False) is None
    parsing.from_string(source)
    with pytest.raises(jinja2.UndefinedError):
        dbt_jinja.get_environment().from_string(source).render({})


def test_a_template_that_does_not_compile_fails_as_before(kept):
    with pytest.raises(jinja2.TemplateSyntaxError):
        dbt_jinja.get_environment().compile("{% if %}")
    assert not dbt_templates._codes


def test_debugging_dbts_macros_compiles_as_dbt_does(kept, monkeypatch):
    environment = dbt_jinja.get_environment()
    assert dbt_templates._key(environment, "{{ 1 }}", None, None, False) is not None
    monkeypatch.setattr(dbt_jinja, "MACRO_DEBUGGING", "write")  # dbt's --macro-debugging
    assert dbt_templates._key(environment, "{{ 1 }}", None, None, False) is None
    monkeypatch.setattr(dbt_jinja, "MACRO_DEBUGGING", False)
    monkeypatch.setenv("DBT_MACRO_DEBUGGING", "1")
    assert dbt_templates._key(environment, "{{ 1 }}", None, None, False) is None


def test_a_full_folder_is_emptied_and_fills_again(kept, monkeypatch):
    folder, _ = kept
    monkeypatch.setattr(dbt_templates, "KEEP", 3)
    monkeypatch.setattr(dbt_templates._prune, "writes", 1, raising=False)  # no count while these four are written
    environment = dbt_jinja.get_environment()
    for n in range(4):
        environment.compile(f"select {n}")
    assert len(list(folder.glob(f"*{SUFFIX}"))) == 4
    monkeypatch.setattr(dbt_templates._prune, "writes", 0)  # the next write counts the files
    environment.compile("select 'next'")
    assert list(folder.glob(f"*{SUFFIX}")) == []
    environment.compile("select 'after'")
    assert len(list(folder.glob(f"*{SUFFIX}"))) == 1


def test_files_that_another_user_could_have_written_are_not_loaded(kept, tmp_path):
    folder, jinja_compile = kept
    environment = dbt_jinja.get_environment()
    source = "select {{ 40 + 2 }}"
    environment.compile(source)
    [file] = folder.glob(f"*{SUFFIX}")
    # a file others may write: not loaded (a code object that would render something else)
    forged = jinja_compile(environment, "select 'forged'")
    file.write_bytes(marshal.dumps(forged))
    file.chmod(0o664)
    dbt_templates._codes.clear()
    assert environment.from_string(source).render({}) == "select 42"
    assert oct(file.stat().st_mode & 0o777) == "0o600"  # and written again as its own
    # a file with a second name (a hard link someone made to a file of ours): not loaded
    (tmp_path / "elsewhere").mkdir()
    file.write_bytes(marshal.dumps(forged))
    os.link(file, tmp_path / "elsewhere" / "hard")
    dbt_templates._codes.clear()
    assert environment.from_string(source).render({}) == "select 42"
    # a file that does not load: compiled again
    file.write_bytes(b"not marshal")
    dbt_templates._codes.clear()
    assert environment.from_string(source).render({}) == "select 42"
    # a folder others may write is not used at all
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    compiled_templates_kept(shared)
    environment.compile("select 'shared'")
    assert not list(shared.iterdir())
    # nor one that is a link to somewhere else
    (tmp_path / "link").symlink_to(folder)
    compiled_templates_kept(tmp_path / "link")
    assert dbt_templates._folder is None


def test_the_folder_checked_is_the_folder_written_and_a_new_one_is_taken(kept, tmp_path):
    folder, _ = kept
    environment = dbt_jinja.get_environment()
    # the folder renamed away and a link to another put at its path while the process holds it:
    # the files go into the folder that was checked, nothing into the link's target
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    folder.rename(tmp_path / "moved")
    folder.symlink_to(elsewhere)
    environment.compile("select 'held'")
    assert list(elsewhere.iterdir()) == [] and len(list((tmp_path / "moved").glob(f"*{SUFFIX}"))) == 1
    # removed (make clean) and made again: the next dbt invocation in this process takes the new one
    folder.unlink()
    compiled_templates_kept(folder)
    environment.compile("select 'new'")
    assert len(list(folder.glob(f"*{SUFFIX}"))) == 1 and not folder.is_symlink()


def test_a_checkout_that_cannot_be_written_keeps_the_code_in_the_process(kept, tmp_path):
    (tmp_path / "file").write_text("not a folder")
    compiled_templates_kept(tmp_path / "file" / "jinja")
    assert dbt_templates._folder is None
    assert dbt_jinja.get_environment().from_string("{{ 1 + 1 }}").render({}) == "2"
    assert len(dbt_templates._codes) == 1
