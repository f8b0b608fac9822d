"""Bad input and faults, generated and sent to a running app over HTTP, with what came back tallied.

What is sent (deterministic for a seed):
* mixed batches: valid events and mutated elements shuffled into one Event Grid delivery, in either schema,
  to either Event Grid function; the mutations are named in `MUTATIONS` (undecodable eventTime, missing
  fields, fields over 64 KB, lone surrogates, nesting, wrong types, elements that are not events);
* malformed bodies: not JSON, nested past 64 levels, JSON that is not an event; each must be a 400;
* redelivery: a share of the mixed batches sent again as Event Grid would; nothing may be accepted twice;
* concurrent duplicates: one event delivered by many senders at once; a 500 means "in flight, redeliver",
  so it is redelivered until acknowledged, as Event Grid does; it must be accepted and run exactly once;
* alert API abuse: bodies nested too deep, huge bodies, wrong types, lone surrogates, regexes RE2 refuses,
  a catastrophic regex (`(x+x+)+y`) that must not stall the worker that matches it, bad ids and parameters.

The verdicts: 5xx answers to requests carrying bad input (goal 0), valid events never accepted in the audit
trail (lost, goal 0), valid events accepted or run more than once (duplicates, goal 0). Used by
tests/reliability (small counts) and bench/reliability.py (thousands). Loopback only: it talks to the URL given.
"""

from __future__ import annotations

import copy
import json
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests

from tests.fixtures import events as samples

HUGE = 70_000  # characters: past the queue's 64 KB message limit once it is in a job
WEBHOOK = "/runtime/webhooks/eventgrid"
NOTIFICATION = {"aeg-event-type": "Notification", "Content-Type": "application/json"}
CLOUD_KEYS = {"topic": "source", "eventType": "type", "eventTime": "time"}
ML_KINDS = ("model_registered", "run_status_changed", "dataset_drift_detected")
TARGET_FIELD = {"model_registered": "ModelName", "run_status_changed": "runId",
                "dataset_drift_detected": "DataDriftName"}
KIND_TYPES = {"model_registered": "ModelRegistered", "run_status_changed": "RunStatusChanged",
              "dataset_drift_detected": "DatasetDriftDetected"}

Event = dict[str, Any]


# -- valid events -------------------------------------------------------------------------------------------------


def valid_event(kind: str, cloud: bool) -> Event:
    """A documented sample with a fresh id (and, for resources, a fresh deployment name), in either schema."""
    if kind == "deployment_write":
        event = samples.deployment_write(deployment=f"d{uuid.uuid4().hex[:8]}")
    else:
        event = samples.ML_SAMPLES[kind]()
    event = samples.fresh_id(event)
    return samples.to_cloud_event(event) if cloud else event


def _key(event: Event, name: str) -> str:
    return CLOUD_KEYS.get(name, name) if "specversion" in event else name


def _with(event: Event, name: str, value: Any) -> Event:
    return {**event, _key(event, name): value}


def _without(event: Event, name: str) -> Event:
    return {k: v for k, v in event.items() if k != _key(event, name)}


def _with_data(event: Event, name: str, value: Any) -> Event:
    data = copy.deepcopy(event.get("data")) if isinstance(event.get("data"), dict) else {}
    data[name] = value
    return {**event, "data": data}


def nested(depth: int) -> Any:
    """A JSON value `depth` levels of arrays and objects deep."""
    value: Any = {}
    for level in range(depth - 1):
        value = [value] if level % 2 else {"n": value}
    return value


def _huge_target(event: Event, rng: random.Random) -> Event:
    """A field that ends up in the job made so large that the job no longer fits a queue message."""
    big = "m" * (HUGE + rng.randrange(1000))
    if str(event.get("subject", "")).find("/onlineEndpoints/") > 0:  # a resource event: the name is in the subject
        return {**event, "subject": str(event["subject"]).replace("/onlineEndpoints/ep1", f"/onlineEndpoints/{big}")}
    event_type = str(event.get(_key(event, "eventType")))
    name = next((name for kind, name in TARGET_FIELD.items() if event_type.endswith(KIND_TYPES[kind])), "ModelName")
    return _with_data(event, name, big)


def _rand_id(rng: random.Random) -> int:
    return rng.randrange(10**12, 10**13)  # unique per element: two equal ids in one batch are a duplicate


Mutation = Callable[[Event, random.Random], Any]

MUTATIONS: dict[str, Mutation] = {
    # the library cannot decode these: acknowledged by the host, siblings run
    "time: not a time": lambda e, r: _with(e, "eventTime", "not a time"),
    "time: impossible date": lambda e, r: _with(e, "eventTime", "2024-13-45T99:99:99Z"),
    "time: a number": lambda e, r: _with(e, "eventTime", 1714557600),
    "time: an object": lambda e, r: _with(e, "eventTime", {"at": "noon"}),
    "time: a UTC offset": lambda e, r: _with(e, "eventTime", "2024-05-01T12:00:00+02:00"),
    "element: a string": lambda e, r: "not an event",
    "element: a number": lambda e, r: 42,
    "element: null": lambda e, r: None,
    "element: a list": lambda e, r: [e],
    # decodable but malformed: the app audits them as rejected
    "missing id": lambda e, r: _without(e, "id"),
    "missing topic/source": lambda e, r: _without(e, "topic"),
    "missing eventType/type": lambda e, r: _without(e, "eventType"),
    "missing data": lambda e, r: _without(e, "data"),
    "missing subject": lambda e, r: _without(e, "subject"),
    "missing eventTime/time": lambda e, r: _without(e, "eventTime"),
    "missing specversion": lambda e, r: _without(e, "specversion"),
    # larger than anything Azure sends
    "huge id": lambda e, r: _with(e, "id", "i" * HUGE + str(_rand_id(r))),
    "huge subject": lambda e, r: _with(e, "subject", "s" * HUGE),
    "huge topic/source": lambda e, r: _with(e, "topic", "/subscriptions/" + "t" * HUGE),
    "huge job target": _huge_target,
    "huge data field": lambda e, r: _with_data(e, "blob", "b" * (3 * HUGE)),
    # text that UTF-8 cannot encode
    "lone surrogate in id": lambda e, r: _with(e, "id", f"\ud800-{_rand_id(r)}"),
    "lone surrogate in subject": lambda e, r: _with(e, "subject", "models/x\udfff:1"),
    "lone surrogate in target": lambda e, r: _with_data(e, "ModelName", "m\udc00"),
    "lone surrogate in topic": lambda e, r: _with(e, "topic", samples.WORKSPACE + "\ud800"),
    "lone surrogate in type": lambda e, r: _with(e, "eventType", "Microsoft.MachineLearningServices.\ud801"),
    "lone surrogate in a data key": lambda e, r: _with_data(e, "k\udbff", 1),
    # nesting the host still reads (at most 64 levels with the batch and the event)
    "data nested 60 levels": lambda e, r: {**e, "data": nested(60)},
    # wrong types
    "id: a number": lambda e, r: _with(e, "id", _rand_id(r)),
    "id: an object": lambda e, r: _with(e, "id", {"id": _rand_id(r)}),
    "id: null": lambda e, r: _with(e, "id", None),
    "id: true": lambda e, r: _with(e, "id", True),
    "data: a string": lambda e, r: {**e, "data": "data"},
    "data: a list": lambda e, r: {**e, "data": [1, 2]},
    "data: a number": lambda e, r: {**e, "data": 7},
    "type: a number": lambda e, r: _with(e, "eventType", 7),
    "topic: a list": lambda e, r: _with(e, "topic", [samples.WORKSPACE]),
    "subject: an object": lambda e, r: _with(e, "subject", {"s": 1}),
    "target: a list": lambda e, r: _with_data(e, "ModelName", ["a", "b"]),
    # odd but valid text
    "id with path tricks": lambda e, r: _with(e, "id", f"../../{_rand_id(r)}?x=1#y"),
    "id with a NUL": lambda e, r: _with(e, "id", f"a\u0000{_rand_id(r)}"),
    "subject with emoji and RTL": lambda e, r: _with(e, "subject", "models/\U0001f600\u202e:1"),
}


def malformed_bodies() -> dict[str, bytes]:
    """Whole deliveries that are not events at all: each is a 400, whatever is inside."""
    good = json.dumps([samples.fresh_id(samples.model_registered())]).encode()
    too_deep_event = samples.fresh_id(samples.model_registered())
    too_deep_event["data"] = nested(70)
    return {
        "truncated JSON": good[: len(good) // 2],
        "empty body": b"",
        "not UTF-8": b"\xff\xfe\x00[garbage",
        "JSON number": b"42",
        "JSON string": b'"events"',
        "JSON null": b"null",
        "nested 65 levels": b"[" * 65 + b"]" * 65,
        "nested 1,000 levels": b"[" * 1000 + b"]" * 1000,
        "nested 100,000 levels": b"[" * 100_000 + b"]" * 100_000,
        "an event nested 72 levels": json.dumps([too_deep_event]).encode(),
    }


@dataclass(frozen=True)
class Answer:
    status: int  # 0: the connection was dropped or nothing came back
    text: str


# -- the tally ----------------------------------------------------------------------------------------------------


@dataclass
class Tally:
    """What was sent and what went wrong. `inputs` counts bad inputs (a mutated element, a malformed body, an API
    abuse request) and duplicate deliveries; valid events are counted apart."""

    inputs: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    valid: dict[str, str] = field(default_factory=dict)  # valid event id -> function
    server_errors: list[str] = field(default_factory=list)  # 5xx answers to requests carrying bad input
    in_flight_answers: int = 0  # 500 "in flight, redeliver" to concurrent duplicates (by design)
    exactly_once: list[str] = field(default_factory=list)  # ids whose job must have run exactly once
    lost: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def sent(self, what: str, status: int, text: str, bad_input: bool = True) -> None:
        with self._lock:
            self.requests += 1
            if bad_input and (status >= 500 or status == 0):
                self.server_errors.append(f"{what}: {status} {text[:200]!r}")

    @property
    def inputs_tried(self) -> int:
        return sum(self.inputs.values())

    def summary(self) -> dict[str, Any]:
        return {"inputs tried": self.inputs_tried, "valid events": len(self.valid), "requests": self.requests,
                "5xx from bad input": len(self.server_errors), "events lost": len(self.lost),
                "duplicates": len(self.duplicates), "500 in flight (redelivered)": self.in_flight_answers}


# -- the probe ----------------------------------------------------------------------------------------------------


class Probe:
    """Sends generated input to one app (devhost) at `base_url` and records the answers in `tally`."""

    def __init__(self, base_url: str, seed: int = 10, timeout: float = 60.0) -> None:
        self.base = base_url.rstrip("/")
        self.rng = random.Random(seed)
        self.tally = Tally()
        self.timeout = timeout
        self._local = threading.local()

    @property
    def session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def request(self, method: str, path: str, **kwargs: Any) -> Answer:
        """One HTTP call; a dropped connection or no answer is status 0 (a failure like a 5xx)."""
        try:
            response = self.session.request(method, f"{self.base}{path}", timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            self._local.__dict__.pop("session", None)  # start a fresh connection after a dropped one
            return Answer(0, f"no answer: {type(exc).__name__}: {exc}")
        return Answer(response.status_code, response.text)

    def deliver(self, body: bytes, function: str = "on_ml_event") -> Answer:
        return self.request("POST", WEBHOOK, params={"functionName": function}, data=body, headers=NOTIFICATION)

    # -- stages -----------------------------------------------------------------------------------------------
    def mixed_batches(self, batches: int, redeliver_share: float = 0.2, senders: int = 4) -> None:
        """Valid events and mutated elements in one delivery, `senders` deliveries at a time; afterwards a share
        of the batches is delivered again, as Event Grid redelivers a batch it got no answer for."""
        names = sorted(MUTATIONS)
        turn = {False: 0, True: 0}  # each schema takes the mutations in turn, so every one is tried in both
        prepared: list[tuple[int, bytes, str]] = []
        for n in range(batches):
            cloud = n % 2 == 1
            function = "on_resource_event" if n % 5 == 4 else "on_ml_event"
            kinds = ("deployment_write",) if function == "on_resource_event" else ML_KINDS
            valid = [valid_event(self.rng.choice(kinds), cloud) for _ in range(self.rng.randint(1, 4))]
            bad = []
            for _ in range(self.rng.randint(3, 4)):
                name = names[turn[cloud] % len(names)]
                turn[cloud] += 1
                bad.append(MUTATIONS[name](valid_event(self.rng.choice(kinds), cloud), self.rng))
                self.tally.inputs[f"mutation ({'cloudevents' if cloud else 'eventgrid'}): {name}"] += 1
            batch = valid + bad
            self.rng.shuffle(batch)
            for event in valid:
                self.tally.valid[event["id"]] = function
            prepared.append((n, json.dumps(batch).encode(), function))

        def send(item: tuple[int, bytes, str], what: str = "batch") -> None:
            n, body, function = item
            answer = self.deliver(body, function)
            self.tally.sent(f"{what} {n} ({function})", answer.status, answer.text)
            if answer.status != 202:
                self.tally.notes.append(f"{what} {n}: {answer.status} {answer.text[:200]!r}")

        with ThreadPoolExecutor(senders) as pool:
            list(pool.map(send, prepared))
            again = self.rng.sample(prepared, int(len(prepared) * redeliver_share))
            self.tally.inputs["redelivered batch"] += len(again)
            list(pool.map(lambda item: send(item, "redelivered batch"), again))

    def malformed(self, rounds: int = 1) -> None:
        for _ in range(rounds):
            for name, body in malformed_bodies().items():
                answer = self.deliver(body, self.rng.choice(("on_ml_event", "on_resource_event")))
                self.tally.inputs[f"body: {name}"] += 1
                self.tally.sent(f"body: {name}", answer.status, answer.text)
                if answer.status != 400:
                    self.tally.notes.append(f"body {name}: expected 400, got {answer.status}")

    def concurrent_duplicates(self, events: int, copies: int = 20) -> None:
        """Each event delivered by `copies` senders at once; a 500 is redelivered (as Event Grid would) until 202."""
        with ThreadPoolExecutor(copies) as pool:
            for n in range(events):
                event = valid_event(ML_KINDS[n % len(ML_KINDS)], cloud=n % 2 == 1)
                body = json.dumps([event]).encode()
                start = threading.Barrier(copies)

                def send(_: int, body: bytes = body, start: threading.Barrier = start) -> int:
                    start.wait()
                    return self._until_acknowledged(body)

                list(pool.map(send, range(copies)))
                self.tally.inputs["concurrent duplicate delivery"] += copies - 1
                self.tally.valid[event["id"]] = "on_ml_event"
                self.tally.exactly_once.append(event["id"])

    def _until_acknowledged(self, body: bytes, tries: int = 20) -> int:
        for attempt in range(tries):
            answer = self.deliver(body)
            with self.tally._lock:
                self.tally.requests += 1
            if answer.status not in (0, 500):
                return answer.status
            if "EventInFlight" not in answer.text:  # anything but "in flight, redeliver" is a failure
                self.tally.notes.append(f"concurrent duplicate: {answer.status} {answer.text[:200]!r}")
            with self.tally._lock:
                self.tally.in_flight_answers += 1
            time.sleep(0.05 * (attempt + 1))
        self.tally.notes.append("a concurrent duplicate was never acknowledged")
        return 500

    def alert_api_abuse(self, rounds: int = 1) -> None:
        for _ in range(rounds):
            for what, method, path, kwargs in _api_abuse():
                answer = self.request(method, path, **kwargs)
                self.tally.inputs[f"api: {what}"] += 1
                self.tally.sent(f"api: {what}", answer.status, answer.text)
                if answer.status >= 500 or answer.status < 400:
                    self.tally.notes.append(f"api {what}: {answer.status} {answer.text[:200]!r}")

    def catastrophic_regex(self) -> str:
        """A silence whose regex backtracks exponentially, then an alert it must be matched against: the job that
        fires the alert must finish. Returns the event id whose job must run (exactly once)."""
        silence = {"matchers": [{"name": "run", "value": "(x+x+)+y", "isRegex": True}], "duration": "1h",
                   "createdBy": "reliability", "comment": "catastrophic pattern"}
        answer = self.request("POST", "/api/silences", json=silence)
        self.tally.inputs["api: catastrophic regex silence"] += 1
        self.tally.sent("api: catastrophic regex silence", answer.status, answer.text)
        if answer.status != 201:
            self.tally.notes.append(f"catastrophic silence: {answer.status} {answer.text[:200]!r}")
        event = samples.fresh_id(samples.run_status_changed())
        event["data"]["runId"] = "x" * 64  # the label `run` the pattern is matched against
        answer = self.deliver(json.dumps([event]).encode())
        self.tally.sent("run failed for the catastrophic silence", answer.status, answer.text)
        self.tally.valid[event["id"]] = "on_ml_event"
        self.tally.exactly_once.append(event["id"])
        return event["id"]

    # -- verdicts ---------------------------------------------------------------------------------------------
    def audit(self, kind: str) -> list[dict[str, Any]]:
        """Every audit record of `kind` (all pages); an empty list while the app does not answer."""
        records: list[dict[str, Any]] = []
        params: dict[str, Any] = {"since": "1d", "limit": 1000, "kind": kind}
        while True:
            answer = self.request("GET", "/api/audit", params=params)
            if answer.status != 200:
                self.tally.notes.append(f"audit read failed: {answer.status} {answer.text[:200]!r}")
                return []
            page = json.loads(answer.text)
            records.extend(page["records"])
            if not page.get("next_cursor"):
                return records
            params["cursor"] = page["next_cursor"]

    def verify(self, wait: float = 60.0) -> Tally:
        """Wait (bounded) until every valid event is accepted and every exactly-once job is done, then count."""
        deadline = time.monotonic() + wait
        while True:
            accepted = Counter(r["details"].get("event_id") for r in self.audit("event")
                               if r["decision"] == "accepted")
            done = Counter(r["details"].get("job_id") for r in self.audit("job") if r["decision"] == "done")
            missing = [i for i in self.tally.valid if not accepted[i]]
            not_run = [i for i in self.tally.exactly_once if not done[f"evt-{i}"]]
            if (not missing and not not_run) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        self.tally.lost = missing + [f"job of {i} never ran" for i in not_run]
        self.tally.duplicates = [i for i in self.tally.valid if accepted[i] > 1] + [
            f"job of {i} ran {done[f'evt-{i}']} times" for i in self.tally.exactly_once if done[f"evt-{i}"] > 1]
        return self.tally


def _deep(depth: int) -> bytes:
    return b'{"matchers": ' + b"[" * depth + b"]" * depth + b', "duration": "1h", "createdBy": "a", "comment": "c"}'


def _silence(**changes: Any) -> dict[str, Any]:
    return {"matchers": [{"name": "endpoint", "value": "credit-ep"}], "duration": "1h", "createdBy": "fuzz",
            "comment": "fuzz", **changes}


def _api_abuse() -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """(what, method, path, requests kwargs) for calls that must all be answered with a 4xx."""
    json_headers = {"Content-Type": "application/json"}
    for depth in (65, 1000, 100_000):
        yield f"silence nested {depth} levels", "POST", "/api/silences", {"data": _deep(depth),
                                                                           "headers": json_headers}
        yield f"ack nested {depth} levels", "POST", "/api/alerts/0123456789abcdef-1/ack", {
            "data": b"[" * depth + b"]" * depth, "headers": json_headers}
        yield f"test notification nested {depth} levels", "POST", "/api/alerts/test", {
            "data": b'{"by": ' + b"[" * depth + b"]" * depth + b"}", "headers": json_headers}
    yield "silence with a 5 MB comment", "POST", "/api/silences", {"json": _silence(comment="c" * 5_000_000)}
    yield "silence with 20,000 matchers", "POST", "/api/silences", {
        "json": _silence(matchers=[{"name": "endpoint", "value": str(i)} for i in range(20_000)])}
    yield "silence that is not JSON", "POST", "/api/silences", {"data": b"{matchers: [", "headers": json_headers}
    yield "silence that is a JSON list", "POST", "/api/silences", {"json": [_silence()]}
    yield "silence matchers as a string", "POST", "/api/silences", {"json": _silence(matchers="endpoint=x")}
    yield "silence matcher value a number", "POST", "/api/silences", {
        "json": _silence(matchers=[{"name": "endpoint", "value": 5}])}
    yield "silence with a lone surrogate", "POST", "/api/silences", {"json": _silence(createdBy="\ud800")}
    yield "silence matcher with a lone surrogate", "POST", "/api/silences", {
        "json": _silence(matchers=[{"name": "endpoint", "value": "a\udfff", "isRegex": True}])}
    for pattern in (r"(a)\1", "(?=a)a", "(?<!a)b", "a{1001}", "((a{100}){100}){100}", "[", "x" * 1025):
        yield f"silence regex {pattern[:20]!r}", "POST", "/api/silences", {
            "json": _silence(matchers=[{"name": "endpoint", "value": pattern, "isRegex": True}])}
    yield "silence matching everything", "POST", "/api/silences", {
        "json": _silence(matchers=[{"name": "endpoint", "value": ".*", "isRegex": True}])}
    yield "silence duration overflow", "POST", "/api/silences", {"json": _silence(duration="9" * 30 + "d")}
    yield "ack a huge id", "POST", "/api/alerts/" + "a" * 10_000 + "/ack", {"json": {}}
    yield "ack an id with a lone surrogate", "POST", "/api/alerts/%ED%A0%80/ack", {"json": {}}
    yield "ack with by a number", "POST", "/api/alerts/0123456789abcdef-1/ack", {"json": {"by": 5}}
    yield "get a path-trick id", "GET", "/api/alerts/..%2F..%2Fetc", {}
    yield "list with a huge state", "GET", "/api/alerts", {"params": {"state": "s" * 50_000}}
    yield "list with a bad severity", "GET", "/api/alerts", {"params": {"severity": "\U0001f600"}}
    yield "expire a non-UUID silence", "DELETE", "/api/silences/" + "z" * 5000, {}
    lone = "\ud800".encode("utf-8", "surrogatepass")
    yield "audit since a lone surrogate", "GET", "/api/audit", {"params": {"since": lone}}
    yield "audit limit negative", "GET", "/api/audit", {"params": {"limit": "-1"}}
    yield "audit limit huge", "GET", "/api/audit", {"params": {"limit": "9" * 400}}
    yield "audit cursor garbage", "GET", "/api/audit", {"params": {"cursor": "x|" + "y" * 10_000}}
    yield "audit since out of range", "GET", "/api/audit", {"params": {"since": "99999999999d"}}
