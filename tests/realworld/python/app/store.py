"""A tiny in-process note store (the real one is Postgres in production)."""
import itertools
import threading

_lock = threading.Lock()
_ids = itertools.count(1)
_notes = []


def add(text):
    with _lock:
        note = {"id": next(_ids), "text": text}
        _notes.append(note)
        return note


def all_notes():
    with _lock:
        return list(_notes)
