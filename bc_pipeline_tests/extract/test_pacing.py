"""The rate pacer, on a fake clock: it waits before the quota runs out and after a 429."""

from __future__ import annotations

import threading

import pytest

from bc_pipeline.bigcommerce.pacing import QuotaWait, RateLimitHeaders, RatePacer


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def limits(left: int, reset_ms: int, quota: int = 150, window_ms: int = 30000) -> dict[str, str]:
    return {
        "X-Rate-Limit-Requests-Left": str(left),
        "X-Rate-Limit-Time-Reset-Ms": str(reset_ms),
        "X-Rate-Limit-Requests-Quota": str(quota),
        "X-Rate-Limit-Time-Window-Ms": str(window_ms),
    }


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def pacer_on(clock: FakeClock, **kwargs) -> RatePacer:
    return RatePacer(clock=clock, sleep=clock.sleep, reset_margin_s=0.0, **kwargs)


def test_headers_are_read_in_any_case():
    parsed = RateLimitHeaders.parse({"x-rate-limit-requests-left": "7", "X-RATE-LIMIT-TIME-RESET-MS": "1500",
                                     "x-rate-limit-requests-quota": "150", "x-rate-limit-time-window-ms": "30000"})
    assert parsed == RateLimitHeaders(7, 1500, 150, 30000)
    assert RateLimitHeaders.parse({"Content-Type": "application/json"}) is None


def test_requests_flow_while_quota_is_left(clock):
    pacer = pacer_on(clock)
    for left in (149, 148, 147):
        pacer.acquire()
        pacer.release(limits(left, 20000))
    assert clock.sleeps == []


def test_waits_for_the_reset_when_the_last_unit_is_spent(clock):
    pacer = pacer_on(clock)
    pacer.acquire()
    pacer.release(limits(0, 2500))

    pacer.acquire()

    assert clock.sleeps == [pytest.approx(2.5)]


def spend(pacer: RatePacer, count: int, quota: int, reset_ms: int) -> None:
    for spent in range(1, count + 1):
        pacer.acquire()
        pacer.release(limits(quota - spent, reset_ms, quota=quota))


def test_a_long_wait_stops_a_pacer_that_let_half_the_quota_through(clock):
    pacer = pacer_on(clock)
    pacer.stop_at_wait_s = 10.0
    spend(pacer, 4, quota=4, reset_ms=20000)

    with pytest.raises(QuotaWait) as stopped:
        pacer.acquire()

    assert stopped.value.wait_s == pytest.approx(20.0)
    assert clock.sleeps == []


def test_a_short_wait_is_waited_even_when_stopping_is_allowed(clock):
    pacer = pacer_on(clock)
    pacer.stop_at_wait_s = 10.0
    spend(pacer, 4, quota=4, reset_ms=9000)

    pacer.acquire()

    assert clock.sleeps == [pytest.approx(9.0)]


def test_a_pacer_that_starts_in_a_spent_window_waits_for_it_instead_of_stopping(clock):
    # The window was spent by the run before: stopping after a request would make no progress, round after round.
    pacer = pacer_on(clock)
    pacer.stop_at_wait_s = 10.0
    pacer.acquire()
    pacer.release(limits(0, 20000, quota=150))

    pacer.acquire()

    assert clock.sleeps == [pytest.approx(20.0)]


def test_units_claimed_by_requests_in_flight_are_reserved(clock):
    pacer = pacer_on(clock)
    pacer.acquire()
    pacer.release(limits(3, 5000))

    for _ in range(3):
        pacer.acquire()  # three threads, all in flight
    assert clock.sleeps == []

    pacer.acquire()  # a fourth would overdraw the window before any answer arrives
    assert clock.sleeps == [pytest.approx(5.0)]


def test_a_late_answer_does_not_give_back_units_already_spent(clock):
    pacer = pacer_on(clock)
    pacer.acquire()
    pacer.release(limits(4, 4000))
    pacer.acquire()
    pacer.acquire()
    pacer.release(limits(2, 4000))   # the newer answer, overtaking
    pacer.release(limits(3, 4000))   # the older one arrives late in the same window
    pacer.acquire()
    pacer.acquire()
    pacer.acquire()
    assert clock.sleeps == [pytest.approx(4.0)]


def test_an_answer_from_a_window_that_has_ended_does_not_move_the_reset(clock):
    pacer = pacer_on(clock)
    pacer.acquire()
    pacer.release(limits(1, 100))
    pacer.acquire()                  # the window's last unit, answered slowly
    clock.now += 0.1
    pacer.acquire()                  # the window has refilled
    pacer.release(limits(149, 29900))  # the new window's answer comes back first
    pacer.release(limits(0, 10))       # then the old window's last one, sent 10 ms before that window ended
    # The old request counted against the new window while it was in flight: one unit less, never one more.
    for _ in range(148):
        pacer.acquire()
    assert clock.sleeps == []
    pacer.acquire()  # then requests wait for the new window's end, not for the old one's
    assert clock.sleeps == [pytest.approx(29.9)]


def test_windows_shorter_than_a_second_are_told_apart(clock):
    pacer = pacer_on(clock)
    pacer.acquire()
    pacer.release(limits(1, 200, quota=3, window_ms=300))
    pacer.acquire()
    clock.now += 0.2
    pacer.acquire()
    pacer.release(limits(2, 290, quota=3, window_ms=300))
    pacer.release(limits(0, 5, quota=3, window_ms=300))  # the window before, 290 ms earlier
    pacer.acquire()
    assert clock.sleeps == []
    pacer.acquire()
    assert clock.sleeps == [pytest.approx(0.29)]


def test_only_one_request_goes_out_before_the_quota_is_known(clock):
    pacer = pacer_on(clock)
    pacer.acquire()
    second = threading.Thread(target=pacer.acquire)
    second.start()
    second.join(timeout=0.2)
    assert second.is_alive()  # held back until the first answer arrives

    pacer.release(limits(10, 1000))
    second.join(timeout=5)
    assert not second.is_alive()


def test_a_429_with_headers_waits_the_reset(clock):
    pacer = pacer_on(clock)
    pacer.acquire()
    pacer.release(limits(0, 7000), rate_limited=True)

    pacer.acquire()

    assert clock.sleeps == [pytest.approx(7.0)]


def test_a_429_without_headers_backs_off_longer_each_time_up_to_a_cap(clock):
    pacer = pacer_on(clock, backoff_base_s=1.0, backoff_cap_s=5.0)
    for _ in range(5):
        pacer.acquire()
        pacer.release({}, rate_limited=True)
    pacer.acquire()
    assert clock.sleeps == [pytest.approx(s) for s in (1.0, 2.0, 4.0, 5.0, 5.0)]

    pacer.release(limits(100, 1000))
    pacer.acquire()
    pacer.release({}, rate_limited=True)
    pacer.acquire()
    assert clock.sleeps[-1] == pytest.approx(1.0)  # a success resets the back-off


def test_no_headers_at_all_means_no_pacing(clock):
    pacer = pacer_on(clock)
    for _ in range(500):
        pacer.acquire()
        pacer.release({})
    assert clock.sleeps == []
