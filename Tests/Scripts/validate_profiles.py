#!/usr/bin/env python3
"""Validates launch profiles (environments/*.yml) against docs/profile.schema.json.

Usage: python3 Tests/Scripts/validate_profiles.py docs/profile.schema.json FILE...

Prints one line per problem as `FILE: path.to.key: message` and exits 1 when any file fails; prints
`ok: N files` and exits 0 otherwise. Exit 2: usage error, or the schema itself is not a valid 2020-12 schema.

YAML is read the way yaml-language-server reads it (YAML 1.2 core types): only true/false are booleans and
dates stay text. Duplicate keys are refused, as launch's own loader refuses them. Checks that need more than
one file (compose files exist, `extends` targets, alias clashes, name equals the file name) are `launch doctor`'s.
"""

import difflib
import json
import re
import sys

try:
    import yaml
except ImportError:  # pragma: no cover - depends on the machine
    sys.exit("PyYAML is missing: pip install pyyaml")
try:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError
except ImportError:  # pragma: no cover - depends on the machine
    sys.exit("jsonschema is missing: pip install jsonschema")


class ProfileYAMLLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans, no timestamps, and duplicate keys refused."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key `{key}`", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_BOOL = "tag:yaml.org,2002:bool"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
ProfileYAMLLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_BOOL, _TIMESTAMP)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
ProfileYAMLLoader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def plain(value):
    """The document as JSON types: mapping keys as text (YAML allows `1:` or `null:` as keys)."""
    if isinstance(value, dict):
        return {("null" if key is None else str(key)) if not isinstance(key, str) else key: plain(item)
                for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def key_path(parts):
    """`preflight[0].http.url`; `(top level)` for the document itself."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def shown(value, limit=60):
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def messages(error):
    """(path, message) lines for one jsonschema error, readable without knowing JSON Schema."""
    path = list(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = list(schema.get("properties", {}))
        lines = []
        for key in error.instance:
            if key in known:
                continue
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            hint = f"did you mean `{close[0]}`?" if close else "known keys: " + ", ".join(known)
            lines.append((key_path(path + [key]), f"unknown key `{key}` ({hint})"))
        return lines
    if "propertyNames" in error.relative_schema_path:
        # jsonschema reports a bad key at its map; name the key itself.
        expected = schema.get("errorMessage") or error.message
        return [(key_path(path + [error.instance]), f"key `{error.instance}` is not {expected}")]
    if not path and error.validator == "type":
        return [("(top level)", f"a profile must be a mapping of keys like `name:` and `compose:`, got {shown(error.instance)}")]
    if error.validator == "required":
        return [(key_path(path), error.message.replace(" is a required property", " is required"))]
    custom = schema.get("errorMessage")
    if custom and error.validator == "not":
        return [(key_path(path), custom)]
    if custom:
        got = "" if isinstance(error.instance, dict) else f", got {shown(error.instance)}"
        return [(key_path(path), f"expected {custom}{got}")]
    return [(key_path(path), error.message)]


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    schema_file, files = argv[1], argv[2:]
    try:
        with open(schema_file, encoding="utf-8") as handle:
            schema = json.load(handle)
        Draft202012Validator.check_schema(schema)
    except (OSError, ValueError) as error:
        print(f"{schema_file}: cannot read the schema: {error}")
        return 2
    except SchemaError as error:
        print(f"{schema_file}: {key_path(list(error.absolute_path))}: not a valid 2020-12 schema: {error.message}")
        return 2
    validator = Draft202012Validator(schema)

    failed = 0
    for file in files:
        try:
            with open(file, encoding="utf-8") as handle:
                document = plain(yaml.load(handle, Loader=ProfileYAMLLoader))
        except OSError as error:
            print(f"{file}: (file): {error.strerror}")
            failed += 1
            continue
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f"line {mark.line + 1}" if mark else "(yaml)"
            problem = getattr(error, "problem", None) or str(error)
            print(f"{file}: {where}: malformed YAML: {problem}")
            failed += 1
            continue
        lines = []
        for error in validator.iter_errors(document):
            lines.extend(messages(error))
        for path, message in sorted(set(lines)):
            print(f"{file}: {path}: {message}")
        failed += bool(lines)

    if failed:
        print(f"failed: {failed} of {len(files)} files", file=sys.stderr)
        return 1
    print(f"ok: {len(files)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
