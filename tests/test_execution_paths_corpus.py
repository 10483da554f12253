"""A randomized corpus: the pre-shaped path and ordinary execution answer every document alike.

Each generated document (tests/corpus_support.py: `record`, `records`, `node`; fragments,
aliases, directives, variables; fields only ordinary execution serves; invalid arguments) is
posted twice over HTTP on one fixed location, once on the default path and once with
`x-relata-execution: standard`, and the two answers must be the same status and the same bytes.

RELATA_CORPUS_EXAMPLES (default 200) sets the number of generated documents, e.g.
`RELATA_CORPUS_EXAMPLES=1500 .venv/bin/pytest -q tests/test_execution_paths_corpus.py`.
The suite runs one fixed seed (the same documents every time, so its coverage checks cannot
flake); RELATA_CORPUS_SEED=<n> runs another (e.g. one a failure printed), =random a new one;
RELATA_CORPUS_SHRINK=0 reports a failing document unshrunk."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, note, seed, settings

from app.config import Settings
from app.graphql import shaping
from app.graphql.shaping import STANDARD_EXECUTION_HEADER as PATH_HEADER
from app.services.tokens import create_token
from app.web import create_app
from db import Database
from tests.corpus_support import TOKENS, Doc, World, documents, seed_world
from tests.helpers import Api

EXAMPLES = int(os.environ.get("RELATA_CORPUS_EXAMPLES", "200"))
SEED = os.environ.get("RELATA_CORPUS_SEED", "20261206")
# RELATA_CORPUS_SHRINK=0: report the first failing document as found, unshrunk (fast).
PHASES = [p for p in Phase if os.environ.get("RELATA_CORPUS_SHRINK") != "0" or p != Phase.shrink]


class Stats:
    def __init__(self) -> None:
        self.documents = 0
        self.shaped = 0  # documents whose default-path request returned a pre-shaped subtree
        self.statuses: Counter[int] = Counter()
        self.validation_failed = 0
        self.errors = 0
        self.features: Counter[str] = Counter()
        self.codes: Counter[str] = Counter()  # error codes, once per document
        self.sent = 0
        self.unstable = 0  # answers that differed only in their errors, then agreed

    def summary(self) -> str:
        return (
            f"{self.documents} documents, {self.shaped} served by the fast path,"
            f" statuses {dict(self.statuses)}, {self.errors} with errors,"
            f" {self.validation_failed} invalid, {self.unstable} with unstable errors,"
            f" error codes {dict(self.codes)};"
            f" features {dict(sorted(self.features.items()))}"
        )


class Corpus:
    def __init__(self, client: httpx.AsyncClient, tokens: dict[str, str], world: World) -> None:
        self.client, self.tokens, self.world = client, tokens, world
        self.stats = Stats()

    async def post(self, doc: Doc, standard: bool) -> httpx.Response:
        self.stats.sent += 1
        headers = {
            "authorization": f"Bearer {self.tokens[doc.token]}",
            "x-corpus-request": str(self.stats.sent),
        }
        if standard:
            headers["x-relata-execution"] = "standard"
        return await self.client.post(
            "/graphql", json={"query": doc.query, "variables": doc.variables}, headers=headers
        )

    async def check(self, doc: Doc) -> None:
        """Both paths, the same status and bytes; counts what the document exercised."""
        s = self.stats
        slow = await self.post(doc, standard=True)
        assert slow.headers.get(PATH_HEADER, "standard") == "standard", "standard path not taken"
        edges_rendered = RENDERED_EDGES[0]
        fast = await self.post(doc, standard=False)
        shaped = fast.headers.get(PATH_HEADER) == "pre-shaped"
        rendered = RENDERED_EDGES[0] > edges_rendered
        same = fast.status_code == slow.status_code and fast.content == slow.content
        if not same and unstable_errors(fast, slow):
            # Root fields resolve concurrently and graphql-core lists errors as they happen (and
            # drops those that come after an error has nulled `data`), so two requests on the
            # same path may answer different errors (pinned by
            # test_concurrent_root_errors_are_answered_alike). Such an answer is counted and the
            # paths pass when, asked again, they answer the same bytes.
            s.unstable += 1
            for _ in range(10):
                slow = await self.post(doc, standard=True)
                fast = await self.post(doc, standard=False)
                if fast.status_code == slow.status_code and fast.content == slow.content:
                    same = True
                    break
        assert same, divergence(doc, fast, slow)
        s.documents += 1
        s.shaped += shaped
        s.statuses[fast.status_code] += 1
        body = fast.json()
        codes = [e.get("extensions", {}).get("code") for e in body.get("errors", ())]
        s.errors += bool(codes)
        s.codes.update(set(map(str, codes)))
        if os.environ.get("RELATA_CORPUS_DEBUG"):
            print({e["message"][:70] for e in body.get("errors", ())})
        # A request error (the document refused before execution): errors at no path, no data.
        s.validation_failed += (
            bool(codes) and not body.get("data") and not any("path" in e for e in body["errors"])
        )
        s.features.update(doc.features)
        if shaped:
            s.features["shaped"] += 1
        if rendered:
            s.features["rendered"] += 1  # some edges were written by PostgreSQL


def unstable_errors(fast: httpx.Response, slow: httpx.Response) -> bool:
    """Whether the two answers differ only in their `errors` (order, or which ones)."""
    a, b = fast.json(), slow.json()
    if fast.status_code != slow.status_code or "errors" not in a or "errors" not in b:
        return False
    return {**a, "errors": None} == {**b, "errors": None}


def divergence(doc: Doc, fast: httpx.Response, slow: httpx.Response) -> str:
    return (
        "the execution paths diverge\n"
        f"--- query\n{doc.query}\n--- variables\n{json.dumps(doc.variables, ensure_ascii=False)}\n"
        f"--- default path: HTTP {fast.status_code}, "
        f"{fast.headers.get('x-relata-sql-statements')} statements\n{fast.text}\n"
        f"--- standard path: HTTP {slow.status_code}, "
        f"{slow.headers.get('x-relata-sql-statements')} statements\n{slow.text}"
    )


@pytest.fixture(scope="module")
def corpus_app(db: Database):  # type: ignore[no-untyped-def]
    """No rate limit (one token sends every request); a small record bound, so the response
    budget leaves room for `properties` at every level (and is raised: a refused document
    compares nothing); room for the aliases the corpus derives from arguments."""
    return create_app(
        Settings(
            max_body_bytes=1_000_000,
            rate_limit_per_second=0,
            max_record_bytes=16 * 1024,
            max_aliases=1_000,
            max_tokens=50_000,
            max_response_bytes=2**31,
        ),
        database=db,
    )


@pytest.fixture(scope="module")
async def corpus(db: Database, corpus_app: Any) -> AsyncIterator[Corpus]:
    transport = httpx.ASGITransport(app=corpus_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://relata.test") as client:
        location, other = (f"corpus-{uuid.uuid4().hex[:10]}" for _ in range(2))
        tokens = {
            name: await create_token(db, location, role, scopes)
            for name, (role, scopes) in TOKENS.items()
        }
        other_token = await create_token(db, other, "admin")
        world = await seed_world(
            Api(client, tokens["admin"], location), Api(client, other_token, other)
        )
        yield Corpus(client, tokens, world)


async def run_corpus(
    corpus: Corpus, examples: int, run_seed: int | None, phases: list[Phase]
) -> None:
    """`examples` generated documents through `corpus.check` (hypothesis' seed `run_seed`)."""
    loop = asyncio.get_running_loop()

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=phases,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )
    @given(doc=documents(corpus.world))
    def run(doc: Doc) -> None:
        note(repr(doc))
        try:
            asyncio.run_coroutine_threadsafe(corpus.check(doc), loop).result()
        except (asyncio.CancelledError, concurrent.futures.CancelledError) as exc:
            # Not the test being cancelled: a request was (raised out of the app).
            raise AssertionError(f"a request was cancelled: {doc!r}") from exc

    if run_seed is not None:
        run = seed(run_seed)(run)
    # Hypothesis drives the examples from a worker thread; each request runs on the session's
    # event loop (where the database pool lives) while this test awaits the thread.
    await asyncio.to_thread(run)


# How many times the shaper took edges PostgreSQL wrote as JSON text (app/graphql/rendering.py).
RENDERED_EDGES = [0]


async def test_generated_documents_answer_alike_on_both_paths(
    corpus: Corpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    edges_text = shaping.Shaper._edges_text

    def counted(self: shaping.Shaper, page: Any, rendered: Any) -> str:
        RENDERED_EDGES[0] += 1
        return edges_text(self, page, rendered)

    monkeypatch.setattr(shaping.Shaper, "_edges_text", counted)
    await run_corpus(corpus, EXAMPLES, None if SEED == "random" else int(SEED), PHASES)
    stats = corpus.stats
    print(stats.summary())
    # Guard against a trivial pass: the fast path served a good share, and the documents used
    # what the corpus is about.
    assert stats.documents >= EXAMPLES * 0.9, stats.summary()
    assert stats.shaped >= stats.documents * 0.3, stats.summary()
    assert stats.features["rendered"] >= stats.documents * 0.05, stats.summary()
    assert stats.statuses[200] >= stats.documents * 0.8, stats.summary()
    assert stats.validation_failed <= stats.documents * 0.15, stats.summary()
    for feature in (
        "fragment",
        "fragment.reused",
        "fragment.on_interface",
        "fragment.nested",
        "inline",
        "inline.untyped",
        "alias",
        "repeated",
        "directive",
        "directive.variable",
        "variable",
        "variable.given",
        "variable.null",
        "variable.omitted",
        "variable.default",
        "node",
        "relatedTo",
        "backward",
        "relations.level1",
        "relations.level2",
        "relations.level3",
        "unsupported",
        "invalid.first_and_last",
        "invalid.size",
        "invalid.cursor",
        "invalid.associationId",
        "invalid.associationKey",
        "id.missing",
        "id.malformed",
        "id.foreign",
        "token.user",
        "token.records_only",
        "token.no_associations",
    ):
        assert stats.features[feature] > 0, f"no document used {feature}: {stats.summary()}"


# Found by the corpus (minimised by hypothesis): answers that varied between two identical
# requests, on either path.
# Two root fields fail, in whichever order their statements return: errors are listed in the
# order of the document, so the answer is the same every time, on both paths.
ERROR_ORDER = (
    '{ a: record(id: "rec_000000000000000000000129d8b85529") { id }'
    ' b: record(id: "$contact") { relations(associationId: "$contact") { totalCount } } }'
)
# An error nulls `data` (through the non-null root `records`) while the other root is still
# running: graphql-core, like graphql-js, cancels the sibling, so its error is listed only when
# it failed first. Neither path answers it alone: ordinary execution does, on both.
NULLED_DATA = (
    '{ a: record(id: "$contact") { relations { totalCount } } b: records(objectKey:'
    ' "company", first: 1) { edges { node { relations { totalCount } } } } }'
)


async def _answers(corpus: Corpus, token: str, text: str) -> Counter[tuple[bool, str, bytes]]:
    doc = Doc(text.replace("$contact", corpus.world.records["Contact"][0]), {}, frozenset(), token)
    answers: Counter[tuple[bool, str, bytes]] = Counter()
    for _ in range(50):
        for standard in (True, False):
            r = await corpus.post(doc, standard)
            assert r.status_code == 200
            answers[(standard, r.headers.get(PATH_HEADER, ""), r.content)] += 1
    return answers


async def test_concurrent_root_errors_are_listed_in_document_order(corpus: Corpus) -> None:
    answers = await _answers(corpus, "admin", ERROR_ORDER)
    bodies = {body for _, _, body in answers}
    assert len(bodies) == 1, bodies
    errors = json.loads(bodies.pop())["errors"]
    assert [e["path"][0] for e in errors] == ["a", "b"]


async def test_an_error_that_nulls_data_answers_alike_on_both_paths(corpus: Corpus) -> None:
    answers = await _answers(corpus, "records_only", NULLED_DATA)
    assert {path for _, path, _ in answers} == {"standard"}
    nulling = ["b", "edges", 0, "node", "relations"]
    for _, _, body in answers:
        answer = json.loads(body)
        assert answer["data"] is None
        paths = [e["path"] for e in answer["errors"]]
        # The error that nulled `data` always; the cancelled sibling's before it, if at all.
        assert paths in ([nulling], [["a", "relations"], nulling]), paths


# Runs of the corpus that found a request failing with CancelledError (raised out of the app,
# on both paths: no response at all) in a document of nested `relations` (cause not isolated).
# The documents' ids are those of each run's own location, so the run is pinned by its seed (and
# the generator as it is): without shrinking it reaches the failing document within 200 examples.
PINNED_SEEDS = [45240640272569463173314823889168730940]


@pytest.mark.parametrize("run_seed", PINNED_SEEDS)
async def test_pinned_corpus_runs(corpus: Corpus, run_seed: int) -> None:
    phases = [Phase.explicit, Phase.reuse, Phase.generate]
    await run_corpus(corpus, 200, run_seed, phases)
