"""Validates sandbox responses against every official Dotdigital document that describes the call.

The documents are loaded from ../shared/specs with their servers replaced, in memory, by a relative "/" that
matches whichever port a test server took, so each document is parsed once per session.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import requests
import yaml
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

SPEC_FILES = (
    "dotdigital-v2-api-swagger.json",
    "dotdigital-contacts-service.json",
    "dotdigital-insight-data-service.json",
    "programs.yaml",
    "accounts-and-utilities.yaml",
    "Dotdigital-dotdigital-contact-data-fields-2.0.0-resolved-1.yaml",
)

# Where two documents disagree, the topic document (newer, written for the readme) is followed:
# the v2 swagger gives the enrolment fault report as application/octet-stream, programs.yaml as text/csv.
SUPERSEDED = {("dotdigital-v2-api-swagger.json", "get", "/v2/programs/enrolments/{enrolmentId}/report-faults")}


def _load(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)


def _open_all_of_branches(node) -> None:
    """Lift `additionalProperties: false` from allOf branches.

    The insight document's returnedInsightRecord is allOf[{key, json required}, {created, updated,
    additionalProperties: false}]: the second branch forbids the first branch's required fields, so no record
    could ever validate. The pattern is lifted wherever it occurs; every other constraint is kept as published.
    """
    if isinstance(node, dict):
        for branch in node.get("allOf", []):
            if isinstance(branch, dict) and branch.get("additionalProperties") is False:
                del branch["additionalProperties"]
        for child in node.values():
            _open_all_of_branches(child)
    elif isinstance(node, list):
        for child in node:
            _open_all_of_branches(child)


def _template_regex(template: str) -> re.Pattern:
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")


def _resolve(spec: dict, node: dict) -> dict:
    while isinstance(node, dict) and "$ref" in node:
        target = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def _fit(spec: dict, operations: dict, template: str, path: str) -> int:
    """-1 when a segment is outside its parameter's enum, else how many enum-constrained segments it fits."""
    parameters = list(operations.get("parameters", []))
    for operation in operations.values():
        if isinstance(operation, dict):
            parameters += operation.get("parameters", [])
    enums = {}
    for parameter in parameters:
        parameter = _resolve(spec, parameter)
        if parameter.get("in") == "path":
            enum = _resolve(spec, parameter.get("schema", {})).get("enum")
            if enum:
                enums[parameter["name"]] = enum
    fitted = 0
    for expected, actual in zip(template.split("/"), path.split("/")):
        name = expected[1:-1] if expected.startswith("{") else None
        if name in enums:
            if actual not in enums[name]:
                return -1
            fitted += 1
    return fitted


def _binary(documented_response: dict) -> bool:
    """A file body (`string, format: binary`), which openapi-core 0.23 cannot check under OpenAPI 3.1."""
    content = documented_response.get("content") or {}
    schemas = [media.get("schema") or {} for media in content.values()]
    return bool(schemas) and all(schema.get("format") == "binary" for schema in schemas)


class SpecBook:
    """The loaded documents; each response is checked against every one that documents its call and status."""

    def __init__(self, specs_dir: Path):
        self._raw = {name: _load(specs_dir / "dotdigital" / name) for name in SPEC_FILES}
        self._built: dict[tuple, OpenAPI] = {}

    def _template(self, spec: dict, method: str, path: str) -> tuple[str | None, tuple[str, ...]]:
        """The template this path calls, and the other templates it also matches (dropped when validating)."""
        matching = [
            template
            for template, operations in spec["paths"].items()
            if method.lower() in operations and _template_regex(template).match(path)
        ]
        # as a router would: a segment fitting its enum beats a free one, then more literal segments win
        scored = [
            ((fit, t.count("/") - t.count("{")), t)
            for t in matching
            if (fit := _fit(spec, spec["paths"][t], t, path)) >= 0
        ]
        chosen = max(scored)[1] if scored else None
        return chosen, tuple(t for t in matching if t != chosen)

    def openapi(self, name: str, dropped: tuple[str, ...]) -> OpenAPI:
        key = (name, dropped)
        if key not in self._built:
            spec = copy.deepcopy(self._raw[name])
            spec["servers"] = [{"url": "/"}]
            for template in dropped:
                del spec["paths"][template]
            _open_all_of_branches(spec)
            for operations in spec["paths"].values():
                for operation in operations.values():
                    if isinstance(operation, dict):
                        operation.pop("servers", None)
            self._built[key] = OpenAPI.from_dict(spec)
        return self._built[key]

    def validate(self, response: requests.Response) -> list[str]:
        """Validate against each document that documents this call and status; return the document names."""
        request = response.request
        path = requests.utils.urlparse(request.url).path
        names = []
        for name, spec in self._raw.items():
            template, dropped = self._template(spec, request.method, path)
            if template is None or (name, request.method.lower(), template) in SUPERSEDED:
                continue
            documented = spec["paths"][template][request.method.lower()].get("responses", {})
            if str(response.status_code) not in documented or _binary(documented[str(response.status_code)]):
                continue
            self.openapi(name, dropped).validate_response(
                RequestsOpenAPIRequest(request), RequestsOpenAPIResponse(response)
            )
            names.append(name)
        return names
