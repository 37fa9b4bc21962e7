"""Everyday mathematics: one small module per appendix chapter (birthday, camouflage,
wok, projector)."""

__all__: list[str] = []
