"""Pure slot computation (app.scheduling.slots): working hours in the Stage's zone across DST changes,
buffers, the booking horizon and minimum notice, capacity and busy periods. No database."""
from datetime import date, datetime, time

from app.scheduling.slots import Availability, candidates, day_slots, free_slots, is_slot

PARIS = Availability(time_zone="Europe/Paris", days=("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
                     start=time(9), end=time(12), slot_minutes=60, horizon_days=400)


def starts(av, day):
    return [s for s, _ in day_slots(av, day)]


def test_wall_clock_hours_hold_across_dst():
    # Paris is UTC+1 in winter, UTC+2 in summer: 09:00 local is 08:00 or 07:00 UTC
    assert starts(PARIS, date(2026, 1, 15)) == [datetime(2026, 1, 15, 8), datetime(2026, 1, 15, 9),
                                                 datetime(2026, 1, 15, 10)]
    assert starts(PARIS, date(2026, 7, 15))[0] == datetime(2026, 7, 15, 7)
    # the Sunday of the change (29 March 2026, 02:00 -> 03:00) still starts at 09:00 local = 07:00 UTC
    assert starts(PARIS, date(2026, 3, 29))[0] == datetime(2026, 3, 29, 7)
    assert starts(PARIS, date(2026, 3, 28))[0] == datetime(2026, 3, 28, 8)
    # back to winter time on 25 October 2026
    assert starts(PARIS, date(2026, 10, 25))[0] == datetime(2026, 10, 25, 8)


def test_night_hours_skip_the_missing_hour_and_keep_durations_exact():
    night = Availability(time_zone="Europe/Paris", days=("sun",), start=time(1), end=time(4), slot_minutes=60)
    spring = starts(night, date(2026, 3, 29))
    # 01:00 (UTC 00:00) exists, 02:00 does not exist that night, 03:00 is CEST (UTC 01:00)
    assert spring == [datetime(2026, 3, 29, 0), datetime(2026, 3, 29, 1)]
    autumn = day_slots(night, date(2026, 10, 25))
    assert [s for s, _ in autumn] == [datetime(2026, 10, 24, 23), datetime(2026, 10, 25, 0), datetime(2026, 10, 25, 2)]
    assert all((e - s).total_seconds() == 3600 for s, e in autumn)


def test_new_york_and_working_days():
    ny = Availability(time_zone="America/New_York", days=("mon", "wed"), start=time(9), end=time(10),
                      slot_minutes=30)
    assert starts(ny, date(2026, 11, 30)) == [datetime(2026, 11, 30, 14), datetime(2026, 11, 30, 14, 30)]  # Mon
    assert starts(ny, date(2026, 12, 1)) == []                                                              # Tue
    assert starts(ny, date(2026, 3, 9))[0] == datetime(2026, 3, 9, 13)   # the day after the US change: EDT


def test_buffer_between_slots():
    av = Availability(time_zone="UTC", days=("mon",), start=time(9), end=time(12), slot_minutes=45, buffer_minutes=15)
    got = day_slots(av, date(2026, 11, 30))
    assert [(s.time(), e.time()) for s, e in got] == [(time(9), time(9, 45)), (time(10), time(10, 45)),
                                                      (time(11), time(11, 45))]
    tight = Availability(time_zone="UTC", days=("mon",), start=time(9), end=time(10, 59), slot_minutes=45,
                         buffer_minutes=30)
    assert [s.time() for s in starts(tight, date(2026, 11, 30))] == [time(9)]   # 10:15 would end after 10:59


def test_horizon_and_minimum_notice():
    av = Availability(time_zone="UTC", days=("mon", "tue", "wed", "thu", "fri", "sat", "sun"), start=time(9),
                      end=time(10), slot_minutes=30, horizon_days=2, notice_minutes=90)
    now = datetime(2026, 11, 30, 8, 0)
    got = [s for s, _ in candidates(av, now)]
    # 09:00 today is within the 90 minutes of notice; the horizon ends 2 days from now (08:00 on 2 Dec)
    assert got == [datetime(2026, 11, 30, 9, 30), datetime(2026, 12, 1, 9), datetime(2026, 12, 1, 9, 30)]
    # a window asked for is clipped to the bookable one
    assert candidates(av, now, datetime(2026, 12, 1), datetime(2026, 12, 1, 9, 15)) == \
        [(datetime(2026, 12, 1, 9), datetime(2026, 12, 1, 9, 30))]
    assert candidates(av, now, datetime(2027, 1, 1), datetime(2027, 1, 2)) == []


def test_capacity_and_busy_periods():
    av = Availability(time_zone="UTC", days=("mon",), start=time(9), end=time(11), slot_minutes=30, capacity=2,
                      horizon_days=2)
    now = datetime(2026, 11, 29)
    nine, half = (datetime(2026, 11, 30, 9), datetime(2026, 11, 30, 9, 30)), \
        (datetime(2026, 11, 30, 9, 30), datetime(2026, 11, 30, 10))
    free = free_slots(av, now, booked=[nine])
    assert [(s.start.time(), s.seats_left) for s in free] == [(time(9), 1), (time(9, 30), 2), (time(10), 2),
                                                              (time(10, 30), 2)]
    full = free_slots(av, now, booked=[nine, nine, half])
    assert [s.start.time() for s in full] == [time(9, 30), time(10), time(10, 30)]
    # a busy period from 10:15 to 10:45 blocks both slots it overlaps; one ending at 10:00 blocks none after
    busy = [(datetime(2026, 11, 30, 10, 15), datetime(2026, 11, 30, 10, 45))]
    assert [s.start.time() for s in free_slots(av, now, booked=[], busy=busy)] == [time(9), time(9, 30)]
    edge = [(datetime(2026, 11, 30, 8), datetime(2026, 11, 30, 9))]
    assert len(free_slots(av, now, booked=[], busy=edge)) == 4


def test_is_slot():
    assert is_slot(PARIS, datetime(2026, 7, 15, 7))
    assert not is_slot(PARIS, datetime(2026, 7, 15, 8, 30))
    assert not is_slot(PARIS, datetime(2026, 7, 15, 10))     # 12:00 local: the day has ended
