r"""Laravel Echo's event-name rules, as laravel-echo 2.x applies them.

Laravel broadcasts an event class without ``broadcastAs()`` under its full class name
(``App\Events\OrderShipped``) and one with ``broadcastAs('price.changed')`` under that name.
Echo's ``listen()`` takes a short name and formats it:

* a name starting with ``.`` or ``\`` is used as it is, without that first character
  (``.price.changed`` → ``price.changed``);
* any other name gets the namespace (``App.Events`` by default) and a dot in front, then every
  ``.`` becomes ``\`` (``OrderShipped`` → ``App\Events\OrderShipped``,
  ``Orders.Shipped`` → ``App\Events\Orders\Shipped``);
* with the namespace disabled, only the dots are replaced.

``listenToAll`` goes the other way: a received name in the namespace loses it, any other name
gets a ``.`` in front, so it can be passed back to ``listen()``.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["DEFAULT_NAMESPACE", "EventFormatter", "js_key_order"]

DEFAULT_NAMESPACE = "App.Events"
"""Echo's default namespace: the folder Laravel's ``make:event`` writes to."""

_NO_NAMESPACE_PREFIXES = (".", "\\")
_ARRAY_INDEX_LIMIT = 2**32 - 1


class EventFormatter:
    """Turns the names given to ``listen()`` into the names Laravel broadcasts.

    Args:
        namespace: the namespace short names live in, dotted (``"App.Events"``) or with
            backslashes; ``None`` or ``False`` (or ``""``) disables it.
    """

    __slots__ = ("namespace",)

    def __init__(self, namespace: str | bool | None = DEFAULT_NAMESPACE) -> None:
        if namespace is True:
            namespace = DEFAULT_NAMESPACE
        self.namespace: str | None = namespace or None
        """The namespace, or ``None`` when disabled."""

    def __repr__(self) -> str:
        return f"EventFormatter(namespace={self.namespace!r})"

    def format(self, event: str) -> str:
        """The broadcast name that ``listen(event)`` hears.

        Raises:
            TypeError: ``event`` is not a non-empty string.
        """
        if not isinstance(event, str) or not event:
            raise TypeError("event name must be a non-empty string")
        if event.startswith(_NO_NAMESPACE_PREFIXES):
            return event[1:]
        if self.namespace is not None:
            event = f"{self.namespace}.{event}"
        return event.replace(".", "\\")

    def short_name(self, event: str) -> str:
        r"""The name ``listenToAll`` reports for a broadcast name.

        In the namespace: the name without the namespace and the separator after it (Echo
        compares prefixes only, so ``App\EventsXY`` in namespace ``App.Events`` gives ``Y``
        there too). Otherwise: the name with a ``.`` in front. With the namespace disabled every
        name gets the ``.`` (laravel-echo 2.5 compares against the text ``"false"`` then, an
        accident this does not copy).
        """
        if self.namespace is not None:
            prefix = self.namespace.replace(".", "\\")
            if event.startswith(prefix):
                return event[len(prefix) + 1 :]
        return "." + event


def _array_index(key: str) -> int | None:
    if not key.isascii() or not key.isdigit() or (len(key) > 1 and key[0] == "0"):
        return None
    value = int(key)
    return value if value < _ARRAY_INDEX_LIMIT else None


def js_key_order(keys: Iterable[str]) -> list[str]:
    """``keys`` in the order JavaScript's ``Object.keys`` lists an object's keys.

    Keys that are array indices (``"0"``, ``"9"``, ``"10"``, not ``"01"``) come first in
    numeric order, then the others in insertion order. pusher-js keeps presence members in a
    plain object, so Echo's ``here()`` lists members in this order.
    """
    indices: list[tuple[int, str]] = []
    others: list[str] = []
    for key in keys:
        index = _array_index(key)
        if index is None:
            others.append(key)
        else:
            indices.append((index, key))
    return [key for _, key in sorted(indices)] + others
