"""Tests of the public side: the agenda, its feeds and calendar files, and the session details behind them."""
