# cython: language_level=3, boundscheck=False, wraparound=False, embedsignature=True
"""The receive path's hot case, compiled: a channel's event from the frame to its handlers.

A compiled twin of what the pure-Python layers do with an event frame, and nothing else:

- :class:`FrameSink` is ``LiveSocket``'s frame sink for one socket: it decodes a frame the way
  :func:`reverb.messages.decode_received` does, builds the :class:`~reverb.messages.Event`
  directly in its slots, notes the time (for the keepalive) and hands the event on, all while
  the session is open (``Link.receive``'s hot path). Every other frame goes to the pure-Python
  sink with what was made of it (so no frame is decoded twice), which decides everything else.
- :class:`PicowsFrames` is ``PicowsTransport.on_ws_frame`` for a whole text frame: its payload
  goes to the sink without a Python call in between.
- :class:`InlineDispatch` is ``Dispatcher.put`` while nothing waits: the channel's handlers,
  then the client-wide ones, called at once. Anything else (a queue, a hold, an async handler's
  awaitable, several handlers, a channel that opens its events) goes back to the dispatcher.

None of them decides anything the Python code does not: ``reverb.compiled`` picks this module
when it was built, and the tests run the receive path both ways.
"""

from cpython.object cimport PyObject

import logging
import time
from inspect import isawaitable

from .dispatch import log_handler_failure
from .messages import Event, decode_data

cdef extern from *:
    """
    #include <time.h>
    #include "structmember.h"

    /* The offset of a slot of a class with __slots__, from its member descriptor; -1 if the
       descriptor is not a plain object slot. */
    static Py_ssize_t reverb_slot_offset(PyObject *descr) {
        PyMemberDef *member;
        if (Py_TYPE(descr) != &PyMemberDescr_Type) return -1;
        member = ((PyMemberDescrObject *)descr)->d_member;
        if (member->type != T_OBJECT_EX || (member->flags & READONLY)) return -1;
        return member->offset;
    }

    /* The object in a slot at offset (borrowed; NULL if the slot is empty). */
    static inline PyObject *reverb_slot(PyObject *obj, Py_ssize_t offset) {
        return *(PyObject **)((char *)obj + offset);
    }

    /* What object.__new__(cls) does for a class without __new__ or __init__ arguments. */
    static PyObject *reverb_allocate(PyObject *cls) {
        PyTypeObject *type = (PyTypeObject *)cls;
        return type->tp_alloc(type, 0);
    }

    /* Store a new reference to value in a slot, releasing what was there (if anything). */
    static inline void reverb_fill_slot(PyObject *obj, Py_ssize_t offset, PyObject *value) {
        PyObject **slot = (PyObject **)((char *)obj + offset);
        PyObject *old = *slot;
        Py_INCREF(value);
        *slot = value;
        Py_XDECREF(old);
    }

    /* time.monotonic(), computed the same way (whole nanoseconds, then seconds); on Linux
       from the clock's coarse reading (a few milliseconds behind at most, and cheaper),
       plenty for a keepalive counted in seconds. */
    static double reverb_monotonic(void) {
        struct timespec ts;
    #ifdef CLOCK_MONOTONIC_COARSE
        clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    #else
        clock_gettime(CLOCK_MONOTONIC, &ts);
    #endif
        return (double)((long long)ts.tv_sec * 1000000000LL + ts.tv_nsec) / 1e9;
    }
    """
    Py_ssize_t reverb_slot_offset(object descr)
    PyObject *reverb_slot(object obj, Py_ssize_t offset)
    object reverb_allocate(object cls)
    void reverb_fill_slot(object obj, Py_ssize_t offset, object value)
    double reverb_monotonic()

logger = logging.getLogger("reverb.connection")

cdef object _Event = Event
cdef Py_ssize_t _NAME = reverb_slot_offset(Event.__dict__["name"])
cdef Py_ssize_t _CHANNEL = reverb_slot_offset(Event.__dict__["channel"])
cdef Py_ssize_t _DATA = reverb_slot_offset(Event.__dict__["data"])
cdef Py_ssize_t _USER_ID = reverb_slot_offset(Event.__dict__["user_id"])
if min(_NAME, _CHANNEL, _DATA, _USER_ID) < 0:  # pragma: no cover - a changed Event
    raise ImportError("reverb.messages.Event is not the slotted class this build expects")


cdef Py_ssize_t _slot_of(type cls, str name) except -1:
    """The offset of ``cls``'s plain slot ``name``; TypeError if it is not one."""
    offset = reverb_slot_offset(getattr(cls, name))
    if offset < 0:
        raise TypeError(f"{cls.__qualname__}.{name} is not a plain slot")
    return offset


cdef inline object _read_slot(object obj, Py_ssize_t offset, str name):
    value = reverb_slot(obj, offset)
    if value is NULL:
        raise AttributeError(name)
    return <object>value


cdef inline object _new_event(object name, object channel, object data, object user_id):
    event = reverb_allocate(_Event)
    reverb_fill_slot(event, _NAME, name)
    reverb_fill_slot(event, _CHANNEL, channel)
    reverb_fill_slot(event, _DATA, data)
    reverb_fill_slot(event, _USER_ID, user_id)
    return event


def new_event(name, channel, data=None, user_id=None):
    """``Event(name, channel, data, user_id)``, built the way :class:`FrameSink` builds it."""
    return _new_event(name, channel, data, user_id)


cdef object _channel_event(object raw, object loads):
    """The :class:`Event` of a parsed frame (``raw``) if it is a channel's event, else ``None``.
    The same tests, in the same order, as ``decode_parsed``."""
    if type(raw) is not dict:
        return None
    cdef dict fields = <dict>raw
    channel = fields.get("channel")
    if channel is None and "channel" not in fields:
        return None
    name = fields.get("event")
    if type(name) is not str or type(channel) is not str or (<str>name).startswith("pusher"):
        return None
    data = fields.get("data")
    if type(data) is str:
        try:
            data = loads(data)
        except (ValueError, RecursionError):
            data = decode_data(data)
    user_id = fields.get("user_id")
    if user_id is not None and type(user_id) is not str:
        user_id = str(user_id)
    return _new_event(name, channel, data, user_id)


cdef inline tuple _handlers_for(object registry, dict reached, object name):
    """``registry.handlers_for(name)``, from its remembered answers (``reached``) first."""
    handlers = reached.get(name)
    if handlers is None:
        return registry.handlers_for(name)
    return <tuple>handlers


cdef class InlineDispatch:
    """``Dispatcher.put``, compiled for the case where handlers can be called at once.

    Reads the dispatcher's and the stats' slots directly, and remembers the last channel's
    handler registry (a channel keeps its registry, and a registry its ``_reached``, for life).

    Args:
        dispatcher: the :class:`~reverb.dispatcher.Dispatcher` whose state it reads and to
            which it leaves every other case.
        channels: its channels by name.
        handlers: its client-wide handlers.
        stats: its counters.

    Raises:
        TypeError: the dispatcher or the stats do not keep that state in plain slots.
    """

    cdef object _dispatcher
    cdef dict _channels
    cdef object _handlers
    cdef dict _handlers_reached
    cdef object _stats
    cdef Py_ssize_t _idle
    cdef Py_ssize_t _dispatched
    cdef object _last_channel
    cdef object _last_registry
    cdef dict _last_reached
    cdef bint _last_inline

    def __init__(self, dispatcher, dict channels, handlers, stats):
        self._idle = _slot_of(type(dispatcher), "_idle")
        self._dispatched = _slot_of(type(stats), "events_dispatched")
        self._dispatcher = dispatcher
        self._channels = channels
        self._handlers = handlers
        self._handlers_reached = handlers._reached
        self._stats = stats

    def __call__(self, event):
        self._deliver(event, event.name, event.channel)

    cdef _deliver(self, object event, object name, object channel_name):
        if _read_slot(self._dispatcher, self._idle, "_idle") is True:
            channel = self._channels.get(channel_name) if channel_name is not None else None
            if channel is None:
                registry = None
            elif channel is self._last_channel:
                registry = self._last_registry if self._last_inline else False
            else:
                self._last_inline = channel._handled_inline
                self._last_registry = registry = channel._handlers
                self._last_reached = registry._reached
                self._last_channel = channel
                if not self._last_inline:
                    registry = False
            if registry is not False:
                if registry is not None:
                    handlers = _handlers_for(registry, self._last_reached, name)
                    if handlers and self._call_now(event, handlers, True):
                        return
                handlers = _handlers_for(self._handlers, self._handlers_reached, name)
                if handlers and self._call_now(event, handlers, False):
                    return
                stats = self._stats
                count = _read_slot(stats, self._dispatched, "events_dispatched")
                reverb_fill_slot(stats, self._dispatched, count + 1)
                return
        self._dispatcher.put(event)

    cdef bint _call_now(self, object event, tuple handlers, bint then_client_handlers) except -1:
        """``Dispatcher._call_now`` for one handler; several go to the dispatcher's own."""
        if len(handlers) != 1:
            return self._dispatcher._call_now(event, handlers, then_client_handlers)
        handler = handlers[0]
        try:
            result = handler(event)
        except Exception:
            self._stats.handler_errors += 1
            log_handler_failure(handler, event)
            return False
        if result is None or not isawaitable(result):
            return False
        dispatcher = self._dispatcher
        dispatcher.put_call(
            dispatcher._finishing(event, handlers, result, 1, then_client_handlers)
        )
        return True


cdef class FrameSink:
    """One socket's frame sink: channels' events here, every other frame to ``other``.

    Args:
        session: the socket's ``PusherSession``; events are taken here only while its
            ``phase`` is ``open_phase``.
        open_phase: ``SessionPhase.OPEN``.
        loads: the JSON codec's decoder (``orjson.loads``, or the standard library's).
        clock: the event loop's clock; ``time.monotonic`` is read without a call.
        on_channel_event: what takes each event (an :class:`InlineDispatch` is called
            directly).
        other: the pure-Python sink, for every other frame: ``other(text)`` if ``loads``
            refused it, else ``other(text, parsed)`` with what ``loads`` made of it (or its
            :class:`Event`, while the session is not open), so it is not decoded again.
    """

    cdef readonly Py_ssize_t events
    """Frames taken here (the rest were counted by ``other``)."""
    cdef readonly double last_event_at
    """When the latest of them arrived, by ``clock`` (0 before the first)."""
    cdef object _session
    cdef Py_ssize_t _phase
    cdef object _open
    cdef object _loads
    cdef object _clock
    cdef bint _monotonic
    cdef object _on_channel_event
    cdef InlineDispatch _inline
    cdef object _other

    def __init__(self, session, open_phase, loads, clock, on_channel_event, other):
        self._phase = _slot_of(type(session), "phase")
        self._session = session
        self._open = open_phase
        self._loads = loads
        self._clock = clock
        self._monotonic = clock is time.monotonic
        self._on_channel_event = on_channel_event
        self._inline = on_channel_event if type(on_channel_event) is InlineDispatch else None
        self._other = other

    def __call__(self, text):
        self._feed(text)

    def feed(self, text):
        """Take one frame (``self(text)`` does the same; ``feed`` is called without building
        an argument tuple, so the transports are given this bound method)."""
        self._feed(text)

    cdef _feed(self, object text):
        try:
            parsed = self._loads(text)
        except Exception:
            self._other(text)  # the pure-Python sink decodes it its own way and says what it is
            return
        try:
            event = _channel_event(parsed, self._loads)
        except Exception:
            event = None  # the pure-Python sink meets the same problem, and reports it
        if event is None:
            self._other(text, parsed)
            return
        if _read_slot(self._session, self._phase, "phase") is not self._open:
            self._other(text, event)
            return
        self.events += 1
        self.last_event_at = reverb_monotonic() if self._monotonic else self._clock()
        try:
            if self._inline is not None:
                self._inline._deliver(
                    event, <object>reverb_slot(event, _NAME), <object>reverb_slot(event, _CHANNEL)
                )
            else:
                self._on_channel_event(event)
        except Exception:
            logger.exception("event listener raised on %r", event)


cdef class PicowsFrames:
    """``PicowsTransport.on_ws_frame``'s usual case, compiled: a whole text frame, while no close
    frame was sent, goes straight to ``sink``; every other frame to ``other`` (the transport's
    own Python frame handler), which handles fragments, binary and close frames.

    Args:
        sink: takes each payload (a :class:`FrameSink`'s ``feed`` is called directly).
        other: ``on_ws_frame(transport, frame)`` for every other frame.
        text: picows' ``WSMsgType.TEXT``.
    """

    cdef object _sink
    cdef FrameSink _frame_sink
    cdef object _other
    cdef object _text

    def __init__(self, sink, other, text):
        self._sink = sink
        owner = getattr(sink, "__self__", None)
        if type(owner) is FrameSink and getattr(sink, "__name__", None) == "feed":
            self._frame_sink = owner
        self._other = other
        self._text = text

    def on_ws_frame(self, transport, frame):
        """What picows calls for each frame (set as the listener's ``on_ws_frame``)."""
        if frame.msg_type is self._text and frame.fin and not transport.is_close_frame_sent:
            payload = frame.get_payload_as_bytes()
            if self._frame_sink is not None:
                self._frame_sink._feed(payload)
            else:
                self._sink(payload)
        else:
            self._other(transport, frame)
