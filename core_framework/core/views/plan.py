"""Each ViewSet route's fast paths, decided once when the route is built.

Like FastAPI's route handler (the route's facts worked out before any request), the plan is
computed from the ViewSet class when its routes are built (`core.views.routes.plan_route`),
kept on the route's `ActionEndpoint` and handed to each request's view as `view.plan`. What makes a path apply is documented in docs/guide/fast-paths.md:

- `rows`: list and retrieve read plain rows with `.values()` and dump them straight to JSON,
  no model instances, when the output schema is exactly model columns, `read_rows` is on and,
  for retrieve, nothing looks at the object (stock `get_object`, no object permissions);
- `one_trip_create`: create ends with its INSERT, so on SQLite the INSERT, the response and
  the COMMIT are one trip (`core.db.one_trip`), when `one_trip_create` is on, the hooks after
  validation are the stock ones and the output schema runs no code of its own;
- `unique_by_constraint`: every `unique_fields` entry is a unique column, so create leaves
  duplicates to the database's constraint (no SELECT first) and answers its violation with
  the same 400 (`core.db.unique`);
- `single_insert_create`: create is nothing but its INSERT (the `one_trip_create` conditions,
  a stock `perform_create_validation`, and no SELECT for uniqueness), so it runs without
  BEGIN/COMMIT: one statement is atomic by itself.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RoutePlan:
    """The fast paths one route takes, and why it doesn't take the others."""

    rows: bool = False
    one_trip_create: bool = False
    unique_by_constraint: bool = False
    #: Create sends only its INSERT, outside an explicit transaction (unless a save signal
    #: is connected when the request comes: then in one, as always).
    single_insert_create: bool = False
    #: Why `rows` is off (None when it is on), for people reading `endpoint.plan`.
    rows_off: str | None = "not a list or retrieve route"


#: No fast path: what a view called outside a route (and every custom action) uses.
NO_FAST_PATHS = RoutePlan()
