"""The Redis key schema. `P` is settings.key_prefix (default "arena").

Keys of one match share the hash tag `{<match id>}`; the global keys share the hash tag `{P}`.
So every multi-key script or transaction touches one hash slot and the schema works on a Redis
Cluster as well as on a single server.

| key                          | type   | holds                                                    |
|------------------------------|--------|----------------------------------------------------------|
| `P:match:{id}`               | hash   | the match record: id, status, spec (JSON), created_at,   |
|                              |        | started_at, finished_at, error, total_turns, worker,     |
|                              |        | metrics (JSON); `t:<turn>` = side per completed turn;    |
|                              |        | `h:<turn>` = `<side>:<holding>` per scored verdict;      |
|                              |        | appended = `<lease> <write number> <event id>` of the    |
|                              |        | last numbered write (arena.store.streams). Once          |
|                              |        | compacted: `packed` = 1, `done` = completed turns        |
|                              |        | ("0-5"), `holding` = JSON side means; spec, metrics and  |
|                              |        | any field over 64 bytes in the packed key; no t:/h:/     |
|                              |        | appended                                                 |
| `P:match:{id}:events`        | stream | the match's events, field `e` = event JSON; the entry id |
|                              |        | is the event id and the spectators' resume token         |
| `P:match:{id}:packed`        | string | a compacted finished match (arena.store.packed): zlib of |
|                              |        | the record fields moved out of the hash (spec, metrics)  |
|                              |        | and the events kept, with their ids; replaces the stream |
| `P:match:{id}:lease`         | string | the worker running the match (SET NX PX); its TTL is the |
|                              |        | heartbeat: refreshed every heartbeat_seconds             |
| `P:match:{id}:cancel`        | string | "1" once a cancel was requested (expires after a day)    |
| `P:match:{id}:seat`          | hash   | a human challenger's seat (arena.store.seats): token =   |
|                              |        | sha256 of the seat token, `deadline:<turn>` (ms),        |
|                              |        | `turn:<turn>` = JSON text and key, or fallback;          |
|                              |        | `key:<idempotency key>` = turn; `:typing`, `:rate` gates |
| `{P}:seat_ip:<ip hash>`      | string | turns sent from one address this minute (rate limit)     |
| `P:match:{id}:deliveries`    | hash   | the job's delivery count: n (deliveries since the last   |
|                              |        | completed turn), turns (completed turns when counted),   |
|                              |        | error (the last delivery's error, if it raised)          |
| `{P}:matches`                | zset   | every match id, score 0: lexical order = creation order  |
| `{P}:status:<status>`        | zset   | match ids per status (queued, running, completed, ...)   |
| `{P}:persona:<persona id>`   | zset   | match ids a persona played in                            |
| `{P}:queue`                  | stream | jobs (`match` = id), read by consumer group `workers`    |
| `{P}:dead`                   | stream | dead letters: jobs given up after too many deliveries    |
|                              |        | (match, entry, deliveries, error, worker)                |
| `{P}:counters`               | hash   | turns, tokens_in, tokens_out, judge_failures,            |
|                              |        | jobs_reclaimed, delivery_failures                        |
| `{P}:lb:samples`             | hash   | `<match id>:<side>` -> JSON sample of one debater        |
| `{P}:lb:log`                 | list   | the field of every sample once, in the order recorded:   |
|                              |        | nodes fold the entries they have not read (by position)  |
| `{P}:lb:state`, `{P}:pb:state`| hash  | position, state: a board folded up to a log position     |
|                              |        | (the furthest any node saved): a cold node starts there  |
| `{P}:pb:samples`             | hash   | match id -> JSON PressureSample (arena.domain.samples)   |
| `{P}:pb:log`                 | list   | match ids of the pressure samples, in the order recorded |
| `{P}:cb:samples`, `:log`, `:state` | |  the calibration board, as the pressure board            |
| `{P}:judge_accuracy`         | hash   | judge model -> JSON Calibration (judge-eval --record)    |
| `{P}:judge_swaps`            | hash   | `pairs:<judge>`, `inconsistent:<judge>`,                 |
|                              |        | `unscored:<judge>`: position swaps over every match      |
| `{P}:judge_swaps:counted`    | zset   | match id -> ms counted, for 7 days: swaps counted once   |
| `{P}:personas`               | hash   | saved persona id -> JSON SavedPersona (arena.store.      |
|                              |        | personas): fields, origin, kept card data, timestamps    |
| `{P}:personas:rev`           | string | moves on every save: nodes re-read the saved personas    |
| `{P}:persona_versions:<id>`  | hash   | version (content hash) -> JSON {version, at, persona}:   |
|                              |        | every version of a persona saved or played               |
| `{P}:persona_assets:<id>`    | hash   | path -> base64 of a file the persona's card brought      |
|                              |        | (CHARX assets, a PNG card's image); deleted with it      |
| `{P}:tournaments`            | zset   | every tournament id, score 0 (lexical = creation order)  |
| `{P}:tournament_specs`       | hash   | spec identity hash -> tournament id (re-run = resume)    |
| `{P}:tournament:<id>`        | hash   | id, spec (JSON), status, created_at, finished_at, total, |
|                              |        | identity, tokens, error (arena.store.tournaments)        |
| `{P}:tournament:<id>:slots`  | hash   | slot index -> JSON Slot (swiss rounds added as they come)|
| `{P}:tournament:<id>:matches`| hash   | slot index -> match id of the slot's current match       |
| `{P}:tournament:<id>:results`| hash   | match id -> JSON MatchResult with its tidy turn rows     |
| `{P}:tournament:<id>:lock`   | string | the scheduler running it (SET NX PX, refreshed)          |
| `{P}:tournament:<id>:cancel` | string | "1" once a cancel was requested                          |
| `{P}:match_tournament`       | hash   | match id -> tournament id                                |
| `P:match:{id}:votes:<turn>`  | hash   | spectator id -> crowd label of the turn                  |
| `P:match:{id}:vote_ips:<turn>`| hash  | keyed IP hash -> spectators voting from it on the turn   |
| `P:match:{id}:vote_by_ip:<turn>`| hash | keyed IP hash -> that address's latest label            |
| `P:match:{id}:vote_gate:<t>` | string | set for a second after a `votes` event (coalescing);     |
|                              |        | `vote_due:<t>`: a node will send the trailing one        |
| `P:match:{id}:ballots`       | hash   | a compacted match's votes: spectator id -> one letter per|
|                              |        | turn (h, w, s; - for none), replacing votes:<turn>       |
| `P:match:{id}:ballot_ips`    | hash   | a compacted match's keyed IP hash -> "<turn>:<voters>    |
|                              |        | <letter of its latest label>" pairs ("0:2h 3:1s"),       |
|                              |        | replacing vote_ips:<turn> and vote_by_ip:<turn>          |
| `{P}:compact_due`            | zset   | finished matches to compact, score = when (ms)           |
| `{P}:compact_backfill`       | string | set once the janitor queued the matches finished before  |
|                              |        | compaction existed                                       |
| `{P}:archived`               | zset   | one member per archive run that removed matches:         |
|                              |        | "<highest id removed>|<ISO time>", score 0 (lexical)     |
| `{P}:retention_run`          | string | the janitor that runs today's retention (SET NX EX 1 day)|
| `{P}:voted`                  | zset   | match ids with votes, score = first vote (ms)            |
| `{P}:voted_at`               | zset   | match ids with votes, score = latest vote (ms)           |
| `{P}:crowd_figures`          | string | JSON: the judges' agreement with the crowd a node last   |
|                              |        | computed, with its minimums (arena.crowd.board): what a  |
|                              |        | node still reading the votes at start-up answers         |
| `{P}:votes_secret_fingerprint`| string | a fingerprint of the votes secret (the secret itself is |
|                              |        | never in Redis: arena.store.votes_secret)                |
| `{P}:vote_rate:<who>`        | string | votes in the current minute by a spectator / IP hash     |

Match ids are time-sortable (Crockford base32 of the creation millisecond, then randomness), so
the lexical order of the zsets is newest-last and a page cursor is simply the last id seen.
"""

from __future__ import annotations

from dataclasses import dataclass

from arena.domain.records import STATUSES, MatchStatus

GROUP = "workers"


@dataclass(frozen=True)
class Keys:
    prefix: str

    @property
    def _global(self) -> str:
        return "{" + self.prefix + "}"

    # one match
    def match(self, match_id: str) -> str:
        return f"{self.prefix}:match:{{{match_id}}}"

    def events(self, match_id: str) -> str:
        return f"{self.match(match_id)}:events"

    def lease(self, match_id: str) -> str:
        return f"{self.match(match_id)}:lease"

    def cancel(self, match_id: str) -> str:
        return f"{self.match(match_id)}:cancel"

    def deliveries(self, match_id: str) -> str:
        return f"{self.match(match_id)}:deliveries"

    def packed(self, match_id: str) -> str:
        return f"{self.match(match_id)}:packed"

    def seat(self, match_id: str, part: str = "") -> str:
        """A human challenger's seat (arena.store.seats), or its `typing` gate or `rate`."""
        return f"{self.match(match_id)}:seat" + (f":{part}" if part else "")

    def seat_ip(self, ip_hash: str) -> str:
        return f"{self._global}:seat_ip:{ip_hash}"

    def ballots(self, match_id: str) -> str:
        return f"{self.match(match_id)}:ballots"

    def ballot_ips(self, match_id: str) -> str:
        return f"{self.match(match_id)}:ballot_ips"

    # global
    @property
    def matches(self) -> str:
        return f"{self._global}:matches"

    def status(self, status: MatchStatus) -> str:
        return f"{self._global}:status:{status}"

    def all_statuses(self) -> list[str]:
        return [self.status(s) for s in STATUSES]

    def persona(self, persona_id: str) -> str:
        return f"{self._global}:persona:{persona_id}"

    @property
    def queue(self) -> str:
        return f"{self._global}:queue"

    @property
    def dead(self) -> str:
        return f"{self._global}:dead"

    @property
    def counters(self) -> str:
        return f"{self._global}:counters"

    def board(self, board: str, part: str) -> str:
        """A board's key: `lb` (debates), `pb` (pressure), `cb` (calibration); `samples`,
        `log` or `state`."""
        return f"{self._global}:{board}:{part}"

    @property
    def lb_samples(self) -> str:
        return f"{self._global}:lb:samples"

    @property
    def lb_log(self) -> str:
        return f"{self._global}:lb:log"

    @property
    def lb_state(self) -> str:
        return f"{self._global}:lb:state"

    @property
    def pressure_state(self) -> str:
        return f"{self._global}:pb:state"

    @property
    def pressure_samples(self) -> str:
        return f"{self._global}:pb:samples"

    @property
    def pressure_log(self) -> str:
        return f"{self._global}:pb:log"

    @property
    def judge_accuracy(self) -> str:
        return f"{self._global}:judge_accuracy"

    @property
    def judge_swaps(self) -> str:
        return f"{self._global}:judge_swaps"

    @property
    def judge_swaps_counted(self) -> str:
        return f"{self._global}:judge_swaps:counted"

    @property
    def saved_personas(self) -> str:
        return f"{self._global}:personas"

    @property
    def saved_personas_rev(self) -> str:
        return f"{self._global}:personas:rev"

    def persona_versions(self, persona_id: str) -> str:
        return f"{self._global}:persona_versions:{persona_id}"

    def persona_assets(self, persona_id: str) -> str:
        return f"{self._global}:persona_assets:{persona_id}"

    # tournaments (arena.store.tournaments)
    @property
    def tournaments(self) -> str:
        return f"{self._global}:tournaments"

    @property
    def tournament_specs(self) -> str:
        return f"{self._global}:tournament_specs"

    def tournament(self, tournament_id: str, part: str = "") -> str:
        """The tournament's hash, or one of its parts: slots, matches, results, lock, cancel."""
        return f"{self._global}:tournament:{tournament_id}" + (f":{part}" if part else "")

    @property
    def match_tournament(self) -> str:
        return f"{self._global}:match_tournament"

    # compaction and retention (arena.store.compaction, arena.store.retention)
    @property
    def compact_due(self) -> str:
        return f"{self._global}:compact_due"

    @property
    def compact_backfill(self) -> str:
        return f"{self._global}:compact_backfill"

    @property
    def archived(self) -> str:
        return f"{self._global}:archived"

    @property
    def retention_run(self) -> str:
        return f"{self._global}:retention_run"

    @property
    def voted(self) -> str:
        return f"{self._global}:voted"

    @property
    def voted_at(self) -> str:
        return f"{self._global}:voted_at"

    @property
    def crowd_figures(self) -> str:
        return f"{self._global}:crowd_figures"

    def votes(self, match_id: str, part: str, turn: int) -> str:
        """One turn's crowd votes: votes, vote_ips, vote_by_ip, vote_gate or vote_due
        (arena.store.votes)."""
        return f"{self.match(match_id)}:{part}:{turn}"

    def patterns(self) -> list[str]:
        """SCAN patterns that cover every key of this prefix (used to clean up in tests)."""
        return [f"{self.prefix}:match:*", f"{self._global}:*"]
