"""Command-line drift: `python -m monitors drift ...` and `python -m monitors profile ...`.

Exit codes: 0 no data-set drift, 1 data-set drift, 2 bad input (the message says what and where).
The JSON on stdout is `DriftResult.to_dict()`. This module only parses arguments, calls the engine
and prints; every statistical choice lives in the engine.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from monitors.drift.errors import BadInputError

EXIT_OK, EXIT_DRIFT, EXIT_BAD_INPUT = 0, 1, 2


def _names(text: str | None) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()] if text else []


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--features", help="comma-separated features to use (default: all)")
    parser.add_argument("--categorical", help="comma-separated features to treat as categorical")
    parser.add_argument("--numeric", help="comma-separated features to treat as numeric")
    parser.add_argument(
        "--format",
        choices=("csv", "parquet", "jsonl", "collected"),
        help="input format (default: from the extension; .jsonl data-collector records are recognised)",
    )


def register(commands: Any) -> None:
    """Add the `drift` and `profile` sub-commands to an argparse sub-parser set."""
    drift = commands.add_parser(
        "drift",
        help="compare a current window with a reference",
        description="Compare a current window with a reference. Exit 0: no drift, 1: drift, 2: bad input.",
    )
    source = drift.add_mutually_exclusive_group(required=True)
    source.add_argument("--reference", nargs="+", metavar="REF", help="reference data: files or directories")
    source.add_argument("--reference-profile", metavar="P", help="a profile written by `profile --out`")
    drift.add_argument(
        "--current", nargs="+", required=True, metavar="CUR", help="current data: files or dirs"
    )
    drift.add_argument("--json", action="store_true", help="print the result as JSON")
    drift.add_argument("--report", metavar="OUT.html", help="write a self-contained HTML report")
    drift.add_argument("--exact", action="store_true", help="KS and Wasserstein on raw values with scipy")
    drift.add_argument(
        "--config", metavar="CONFIG.json", help="decision settings (DriftConfig fields) as JSON"
    )
    _common(drift)
    drift.set_defaults(run=run_drift)
    profile = commands.add_parser("profile", help="profile a reference data set")
    profile.add_argument("--reference", nargs="+", required=True, metavar="REF")
    profile.add_argument("--out", required=True, metavar="P", help="where to write the profile (JSON)")
    _common(profile)
    profile.set_defaults(run=run_profile)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m monitors", description="modelwatch checks")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except BadInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _config(args: argparse.Namespace) -> Any:
    from pydantic import ValidationError

    from monitors.drift.decisions import DriftConfig

    fields: dict[str, Any] = {}
    if args.config:
        try:
            fields = json.loads(Path(args.config).read_text())
        except OSError as exc:
            raise BadInputError(f"cannot read ({exc.strerror})", source=args.config) from exc
        except ValueError as exc:
            raise BadInputError(f"not JSON ({exc})", source=args.config) from exc
    if args.exact:
        fields["exact"] = True
    try:
        return DriftConfig.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise BadInputError(f"invalid settings ({problems})", source=args.config) from exc


def _load_profile(path: str) -> Any:
    from monitors.drift.profile import DatasetProfile

    try:
        text = Path(path).read_bytes()
    except OSError as exc:
        raise BadInputError(f"cannot read ({exc.strerror})", source=path) from exc
    profile = DatasetProfile.from_json(text, source=path)
    if profile.role != "reference":
        raise BadInputError("this is a window profile, not a reference profile", source=path)
    return profile


def _check_kinds(profile: Any, categorical: list[str], numeric: list[str], path: str) -> None:
    kinds = profile.kinds()
    for names, wanted in ((categorical, "categorical"), (numeric, "numeric")):
        for name in names:
            if name in kinds and kinds[name] != wanted:
                raise BadInputError(
                    f"the profile has {name!r} as {kinds[name]}; rebuild it with "
                    f"`python -m monitors profile --{wanted} {name}`",
                    source=path,
                )


def run_drift(args: argparse.Namespace) -> int:
    from monitors.drift.build import ReferenceBuilder, build_profile
    from monitors.drift.engine import compare
    from monitors.drift.readers import read_paths

    config = _config(args)
    features = _names(args.features) or None
    categorical, numeric = _names(args.categorical), _names(args.numeric)
    raw_reference = None
    if args.reference_profile:
        if config.exact:
            raise BadInputError(
                "--exact needs the raw reference (--reference); a profile holds only histograms"
            )
        reference = _load_profile(args.reference_profile)
        _check_kinds(reference, categorical, numeric, args.reference_profile)
    elif config.exact:
        builder = ReferenceBuilder(categorical=categorical, numeric=numeric, features=features, keep_raw=True)
        for chunk in read_paths(args.reference, format=args.format):
            builder.add(chunk)
        reference = builder.finish()
        raw_reference = builder.raw
    else:
        reference = build_profile(
            lambda: read_paths(args.reference, format=args.format),
            categorical=categorical,
            numeric=numeric,
            features=features,
        )
    result = compare(
        reference,
        read_paths(args.current, format=args.format),
        config,
        features=features,
        raw_reference=raw_reference,
    )
    if args.report:
        _write_report(result, args)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, allow_nan=False))
    else:
        print(_table(result))
    _warn_schema(result)
    return EXIT_DRIFT if result.dataset.drifted else EXIT_OK


def _write_report(result: Any, args: argparse.Namespace) -> None:
    from monitors.drift.report import render_report

    reference = args.reference_profile or ", ".join(args.reference)
    html = render_report(
        result, title="Drift report", reference_name=reference, current_name=", ".join(args.current)
    )
    try:
        Path(args.report).write_text(html, encoding="utf-8")
    except OSError as exc:
        raise BadInputError(f"cannot write the report ({exc.strerror})", source=args.report) from exc


def run_profile(args: argparse.Namespace) -> int:
    from monitors.drift.build import build_profile
    from monitors.drift.readers import read_paths

    profile = build_profile(
        lambda: read_paths(args.reference, format=args.format),
        categorical=_names(args.categorical),
        numeric=_names(args.numeric),
        features=_names(args.features) or None,
    )
    try:
        Path(args.out).write_text(profile.to_json(), encoding="utf-8")
    except OSError as exc:
        raise BadInputError(f"cannot write the profile ({exc.strerror})", source=args.out) from exc
    kinds = list(profile.kinds().values())
    print(
        f"wrote {args.out}: {len(kinds)} features ({kinds.count('numeric')} numeric, "
        f"{kinds.count('categorical')} categorical), {profile.n_rows} rows"
        + (f"; skipped {', '.join(profile.skipped)}" if profile.skipped else "")
    )
    return EXIT_OK


def _table(result: Any) -> str:
    rows = [("feature", "kind", "status", "method", "value", "threshold", "n_ref", "n_cur")]
    for name, f in result.features.items():
        value = f.decision.value
        rows.append(
            (
                name,
                f.kind,
                f.status,
                f.decision.method or "-",
                "-" if value is None else f"{value:.4g}",
                "-" if f.decision.threshold is None else f"{f.decision.threshold:g}",
                str(f.n_ref),
                str(f.n_cur),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    d = result.dataset
    lines.append(
        f"\ndataset: drift_share {d.drift_share:.3f} over {d.n_features} features "
        f"(threshold {d.threshold:g}) -> {'DRIFT' if d.drifted else 'no drift'}"
    )
    return "\n".join(lines)


def _warn_schema(result: Any) -> None:
    for name, f in result.features.items():
        if f.status in ("missing_column", "new_column", "type_changed"):
            print(f"warning: {name}: {f.status}: {f.decision.reason}", file=sys.stderr)
