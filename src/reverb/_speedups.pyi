from collections.abc import Callable
from typing import Any

from .dispatch import HandlerRegistry
from .dispatcher import ClientStats, Dispatcher, EventTarget
from .messages import Event
from .protocol.session import PusherSession, SessionPhase

def new_event(
    name: str, channel: str | None, data: Any = None, user_id: str | None = None
) -> Event: ...

class InlineDispatch:
    def __init__(
        self,
        dispatcher: Dispatcher,
        channels: dict[str, EventTarget],
        handlers: HandlerRegistry,
        stats: ClientStats,
    ) -> None: ...
    def __call__(self, event: Event) -> None: ...

class FrameSink:
    events: int
    last_event_at: float
    def __init__(
        self,
        session: PusherSession,
        open_phase: SessionPhase,
        loads: Callable[[str | bytes], Any],
        clock: Callable[[], float],
        on_channel_event: Callable[[Event], None],
        other: Callable[..., None],
    ) -> None: ...
    def __call__(self, text: str | bytes) -> None: ...
    def feed(self, text: str | bytes) -> None: ...

class PicowsFrames:
    def __init__(
        self,
        sink: Callable[[str | bytes], None],
        other: Callable[[Any, Any], None],
        text: object,
    ) -> None: ...
    def on_ws_frame(self, transport: Any, frame: Any) -> None: ...
