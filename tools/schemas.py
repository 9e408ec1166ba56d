"""The published JSON Schemas (2020-12) of the event payloads, one per event type and version, generated
from the catalogue's pydantic models (shared.events) into docs/schemas/<type>/v<N>.json, and the
compatibility check that keeps them safe for consumers to build on:

    python -m tools.schemas --write             # (re)generate; refuses a change that breaks consumers
    python -m tools.schemas --check             # fail when a committed schema is stale or would break
    python -m tools.schemas --check --against origin/main   # also compare with another commit's files

Compatibility is BACKWARD in the schema-registry sense: a consumer using the new schema must read every
record written with the old one. Removing a field, changing its type, tightening a constraint (a
shorter maximum, a narrower enum, a new pattern or format, no longer nullable) or adding a required
field breaks; adding an optional field or loosening a constraint does not. A breaking change is a new
version of the event (v<N+1> with an upcaster in shared.events), never an edit of a published one.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from shared import events

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "schemas"
DIALECT = "https://json-schema.org/draft/2020-12/schema"

Schema = dict[str, Any]


def schema_of(model: type[events.EventData]) -> Schema:
    """The JSON Schema of one payload version, as a reader validates it (pydantic's validation mode)."""
    generated = model.model_json_schema(mode="validation")
    generated.pop("title", None)
    generated.pop("description", None)
    doc = (model.__doc__ or "").strip()
    inherited = doc == (events.EventData.__doc__ or "").strip()
    schema: Schema = {
        "$schema": DIALECT,
        "$id": model.schema_id(),
        "title": model.type_name(),
        "description": (
            f"`data` of the CloudEvents type {model.type_name()} on topic {model.TOPIC}; the record key "
            f"is `{model.KEY_FIELD}`. Unknown properties are ignored by readers."
            + ("" if inherited or not doc else " " + " ".join(doc.split()))
        ),
        **generated,
    }
    return schema


def path_of(model: type[events.EventData]) -> str:
    """Where a schema lives under docs/schemas/: the tail of its `$id`."""
    return f"{model.NAME}/v{model.VERSION}.json"


def generate() -> dict[str, Schema]:
    return {path_of(model): schema_of(model) for model in events.CATALOGUE.values()}


def render(schema: Schema) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def committed(directory: Path | None = None) -> dict[str, Schema]:
    directory = directory or DOCS
    return {
        str(path.relative_to(directory)): json.loads(path.read_text())
        for path in sorted(directory.glob("*/v*.json"))
    }


def at_commit(ref: str) -> dict[str, Schema]:
    """The schemas as committed at a git ref (what consumers may already have built on)."""
    listing = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", ref, "--", "docs/schemas"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    found: dict[str, Schema] = {}
    for name in listing:
        if name.endswith(".json") and "/v" in name:
            text = subprocess.run(
                ["git", "show", f"{ref}:{name}"], cwd=ROOT, check=True, capture_output=True, text=True
            ).stdout
            found[name.removeprefix("docs/schemas/")] = json.loads(text)
    return found


# --- compatibility ---------------------------------------------------------------------------------


def breaking_changes(old: Schema, new: Schema) -> list[str]:
    """Why a reader on `new` could fail on data valid under `old` (empty: BACKWARD compatible).

    Covers the vocabulary pydantic emits (type, properties, required, enum, const, anyOf/oneOf, $ref
    into $defs, items, additionalProperties, string and number bounds, pattern, format); a keyword it
    does not know that appears or changes in `new` counts as breaking, to be safe."""
    return list(_compare(old, new, old, new, "data"))


_BOUNDS_LOWER = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_BOUNDS_UPPER = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
_EXACT = ("pattern", "format", "const", "multipleOf", "uniqueItems")
_NOTES = {"title", "description", "default", "examples", "$schema", "$id", "$defs", "deprecated"}
_HANDLED = (
    {"type", "properties", "required", "enum", "anyOf", "oneOf", "$ref", "items", "additionalProperties"}
    | set(_BOUNDS_LOWER)
    | set(_BOUNDS_UPPER)
    | set(_EXACT)
    | _NOTES
)


def _resolve(schema: Schema, root: Schema) -> Schema:
    while "$ref" in schema:
        ref = str(schema["$ref"])
        if not ref.startswith("#/$defs/"):
            raise ValueError(f"cannot follow {ref}")
        target: Schema = root.get("$defs", {})[ref.removeprefix("#/$defs/")]
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _branches(schema: Schema, root: Schema) -> list[Schema]:
    schema = _resolve(schema, root)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            rest = {k: v for k, v in schema.items() if k != key and k not in _NOTES}
            return [b for option in schema[key] for b in _branches({**option, **rest}, root)]
    return [schema]


def _types(schema: Schema) -> set[str] | None:
    kind = schema.get("type")
    if kind is None:
        return None  # anything
    return {kind} if isinstance(kind, str) else set(kind)


def _compare(old: Schema, new: Schema, old_root: Schema, new_root: Schema, where: str) -> Iterator[str]:
    old_options = _branches(old, old_root)
    new_options = _branches(new, new_root)
    if len(old_options) == 1 and len(new_options) == 1:
        yield from _compare_one(old_options[0], new_options[0], old_root, new_root, where)
        return
    # every shape the old schema allowed must be read by some shape of the new one
    for option in old_options:
        reasons = [
            list(_compare_one(option, candidate, old_root, new_root, where)) for candidate in new_options
        ]
        if all(reasons):
            best = min(reasons, key=len)
            kinds = "/".join(sorted(_types(option) or {"any"}))
            yield f"{where}: a {kinds} value valid before is refused now ({'; '.join(best)})"


def _compare_one(old: Schema, new: Schema, old_root: Schema, new_root: Schema, where: str) -> Iterator[str]:
    unknown = sorted((set(new) - _HANDLED) | (set(old) - _HANDLED))
    for key in unknown:
        if old.get(key) != new.get(key):
            yield f"{where}: keyword {key!r} changed (not understood by the checker: treated as breaking)"
    old_types, new_types = _types(old), _types(new)
    if new_types is not None:
        accepted = set(new_types) | ({"integer"} if "number" in new_types else set())
        if old_types is None:
            yield f"{where}: type narrowed from anything to {sorted(new_types)}"
        elif not old_types <= accepted:
            yield f"{where}: type changed from {sorted(old_types)} to {sorted(new_types)}"
    if "enum" in new:
        if "enum" not in old:
            yield f"{where}: now restricted to {new['enum']}"
        else:
            dropped = [v for v in old["enum"] if v not in new["enum"]]
            if dropped:
                yield f"{where}: no longer accepts {dropped}"
    for key in _EXACT:
        if key in new and new.get(key) != old.get(key):
            yield f"{where}: {key} {'added' if key not in old else 'changed'} ({new[key]!r})"
    for key in _BOUNDS_LOWER:
        if key in new and (key not in old or new[key] > old[key]):
            yield f"{where}: {key} raised to {new[key]}"
    for key in _BOUNDS_UPPER:
        if key in new and (key not in old or new[key] < old[key]):
            yield f"{where}: {key} lowered to {new[key]}"
    if old.get("additionalProperties", True) is not False and new.get("additionalProperties") is False:
        yield f"{where}: unknown properties are refused now"
    old_props: Schema = old.get("properties", {})
    new_props: Schema = new.get("properties", {})
    for name, old_prop in old_props.items():
        if name not in new_props:
            yield f"{where}.{name}: field removed"
        else:
            yield from _compare(old_prop, new_props[name], old_root, new_root, f"{where}.{name}")
    old_required = set(old.get("required", []))
    for name in sorted(set(new.get("required", [])) - old_required):
        yield f"{where}.{name}: " + ("became required" if name in old_props else "required field added")
    if "items" in old and "items" in new:
        yield from _compare(old["items"], new["items"], old_root, new_root, f"{where}[]")
    elif "items" in new:
        yield f"{where}[]: items constrained"


# --- the command ----------------------------------------------------------------------------------


def problems(old: dict[str, Schema], new: dict[str, Schema]) -> list[str]:
    """What stands between the `old` set of published schemas and the `new` one."""
    found = []
    for path, schema in sorted(old.items()):
        if path not in new:
            found.append(f"{path}: a published schema disappeared (versions stay readable forever)")
            continue
        found += [f"{path}: {reason}" for reason in breaking_changes(schema, new[path])]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--write", action="store_true", help="write docs/schemas/")
    parser.add_argument("--check", action="store_true", help="fail on a stale or breaking schema")
    parser.add_argument("--against", metavar="GIT_REF", help="also check compatibility with this commit")
    parser.add_argument(
        "--allow-breaking",
        action="store_true",
        help="write even a breaking change (never for a published version)",
    )
    args = parser.parse_args(argv)
    fresh = generate()
    current = committed()
    breaking = problems(current, fresh)
    if args.against:
        breaking += [f"against {args.against}: {p}" for p in problems(at_commit(args.against), fresh)]
    if args.write:
        if breaking and not args.allow_breaking:
            print(
                "refusing to write: these changes would break consumers (make a new version):",
                file=sys.stderr,
            )
            print("\n".join(f"  {p}" for p in breaking), file=sys.stderr)
            return 1
        DOCS.mkdir(parents=True, exist_ok=True)
        for path, schema in fresh.items():
            target = DOCS / path
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists() or target.read_text() != render(schema):
                target.write_text(render(schema))
                print(f"wrote docs/schemas/{path}")
        return 0
    stale = sorted(p for p, s in fresh.items() if p not in current or render(current[p]) != render(s))
    for path in stale:
        print(f"stale: docs/schemas/{path} (run python -m tools.schemas --write)", file=sys.stderr)
    for problem in breaking:
        print(f"breaking: {problem}", file=sys.stderr)
    if args.check:
        return 1 if stale or breaking else 0
    sys.stdout.write(json.dumps(fresh, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
