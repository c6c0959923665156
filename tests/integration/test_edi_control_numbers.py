"""Outbound EDI control numbers: unique and increasing per trading partner, under concurrency."""

from __future__ import annotations

import threading

from orderhub.bootstrap import Container
from orderhub.domain.channels import Channel, ChannelKind


def _channel(container: Container) -> None:
    with container.uow() as uow:
        uow.channels.add(Channel("acme", "Acme", ChannelKind.EDI_X12))
        uow.commit()


def test_numbers_increase_per_partner_and_partners_do_not_share(container: Container) -> None:
    _channel(container)
    with container.uow() as uow:
        taken = [uow.control_numbers.next("acme", "ZZ:ACME") for _ in range(3)]
        other = uow.control_numbers.next("acme", "01:123456789")
        uow.commit()
    assert (taken, other) == ([1, 2, 3], 1)


def test_concurrent_callers_never_get_the_same_number(container: Container) -> None:
    _channel(container)
    per_thread, threads = 15, 4
    results: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def take() -> None:
        try:
            for _ in range(per_thread):
                with container.uow() as uow:
                    value = uow.control_numbers.next("acme", "ZZ:ACME")
                    uow.commit()
                with lock:
                    results.append(value)
        except BaseException as error:
            errors.append(error)

    workers = [threading.Thread(target=take) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    assert sorted(results) == list(range(1, per_thread * threads + 1))
