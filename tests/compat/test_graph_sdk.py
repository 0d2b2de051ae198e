"""Microsoft's own Graph SDKs (msgraph-sdk, msgraph-beta-sdk), unmodified, against `hangar serve`."""

from __future__ import annotations

import asyncio
import time

import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.device_management.imported_windows_autopilot_device_identities.import_.import_post_request_body import (
    ImportPostRequestBody,
)
from msgraph.generated.device_management.windows_autopilot_device_identities.item.assign_user_to_device.assign_user_to_device_post_request_body import (
    AssignUserToDevicePostRequestBody,
)
from msgraph.generated.device_management.windows_autopilot_device_identities.item.update_device_properties.update_device_properties_post_request_body import (
    UpdateDevicePropertiesPostRequestBody,
)
from msgraph.generated.device_management.windows_autopilot_device_identities.windows_autopilot_device_identities_request_builder import (
    WindowsAutopilotDeviceIdentitiesRequestBuilder,
)
from msgraph.generated.models.imported_windows_autopilot_device_identity import (
    ImportedWindowsAutopilotDeviceIdentity,
)
from msgraph.generated.models.imported_windows_autopilot_device_identity_import_status import (
    ImportedWindowsAutopilotDeviceIdentityImportStatus,
)
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph_core.tasks.page_iterator import PageIterator

from conftest import DEVICES, fixture_device


def row(name: str, serial: str | None = None, hash_bytes: bytes | None = None, tag: str | None = None):
    s, h = fixture_device(name)
    return ImportedWindowsAutopilotDeviceIdentity(
        serial_number=serial if serial is not None else s,
        hardware_identifier=hash_bytes if hash_bytes is not None else h,
        group_tag=tag,
    )


async def import_and_wait(client, rows):
    """The import action, then polling each row until it is no longer `unknown` (the contract)."""
    imported = client.device_management.imported_windows_autopilot_device_identities
    answer = await imported.import_.post(ImportPostRequestBody(imported_windows_autopilot_device_identities=rows))
    assert answer is not None and len(answer.value) == len(rows)
    ids = [r.id for r in answer.value]
    assert all(ids), "every imported row has an id"
    final = {}
    deadline = time.monotonic() + 30
    while len(final) < len(ids):
        assert time.monotonic() < deadline, "rows still unknown after 30 s"
        for i in ids:
            if i in final:
                continue
            r = await imported.by_imported_windows_autopilot_device_identity_id(i).get()
            if r.state.device_import_status != ImportedWindowsAutopilotDeviceIdentityImportStatus.Unknown:
                final[i] = r
        await asyncio.sleep(0.1)
    return [final[i] for i in ids]


def test_import_poll_list_page_and_filter(server):
    async def body():
        client = server.v1()
        rows = await import_and_wait(client, [row(n, tag="Lab") for n in DEVICES])
        for r in rows:
            assert r.state.device_import_status == ImportedWindowsAutopilotDeviceIdentityImportStatus.Complete, r.state
            assert r.state.device_error_code == 0 and r.state.device_error_name == "None"
            # The contract: the registration is retrievable by the time the row is complete.
            d = await client.device_management.windows_autopilot_device_identities.by_windows_autopilot_device_identity_id(
                r.state.device_registration_id
            ).get()
            assert d.serial_number == r.serial_number and d.group_tag == "Lab"

        params = WindowsAutopilotDeviceIdentitiesRequestBuilder.WindowsAutopilotDeviceIdentitiesRequestBuilderGetQueryParameters
        devices = client.device_management.windows_autopilot_device_identities
        first = await devices.get(RequestConfiguration(query_parameters=params(top=2)))
        assert len(first.value) == 2 and first.odata_next_link
        seen = []
        pages = PageIterator(first, client.request_adapter)

        def collect(item):
            seen.append(item.serial_number)
            return True

        await pages.iterate(collect)
        expected = sorted(fixture_device(n)[0] for n in DEVICES)
        assert sorted(seen) == expected

        hp = await devices.get(RequestConfiguration(query_parameters=params(filter="startswith(serialNumber,'8NY')")))
        assert [d.serial_number for d in hp.value] == ["8NY7017XC5"]
        lenovo = await devices.get(
            RequestConfiguration(query_parameters=params(filter="manufacturer eq 'lenovo' and groupTag eq 'Lab'"))
        )
        assert len(lenovo.value) == 3

    asyncio.run(body())


def test_import_errors_802_806_808_and_duplicated(server):
    other_token = server.new_tenant("fabrikam.onmicrosoft.com")

    async def body():
        client = server.v1()
        first = await import_and_wait(client, [row("hp-elitebook-840-g8.csv"), row("lenovo-thinkpad-x270.csv")])
        assert all(r.state.device_import_status == ImportedWindowsAutopilotDeviceIdentityImportStatus.Complete for r in first)

        rows = await import_and_wait(
            client,
            [
                row("hp-probook-450-g5.csv"),  # new: complete
                row("hp-probook-450-g5.csv"),  # same device twice in one import
                row("hp-elitebook-840-g8.csv"),  # imported before: 806
                row("dell-latitude-5530-winpe.csv", serial="BROKEN", hash_bytes=b"not a hardware hash"),  # 802
            ],
        )
        got = [(r.state.device_import_status, r.state.device_error_code, r.state.device_error_name) for r in rows]
        error = ImportedWindowsAutopilotDeviceIdentityImportStatus.Error
        assert got[0] == (ImportedWindowsAutopilotDeviceIdentityImportStatus.Complete, 0, "None")
        assert got[1][0] == error and got[1][2] == "ZtdDeviceDuplicated"
        assert got[2] == (error, 806, "ZtdDeviceAlreadyAssigned")
        assert got[3] == (error, 802, "InvalidZtdHardwareHash")

        other = server.v1(other_token)
        theirs = await import_and_wait(other, [row("lenovo-thinkpad-x270.csv"), row("vmware-fusion-arm64.csv")])
        assert (theirs[0].state.device_error_code, theirs[0].state.device_error_name) == (
            808,
            "ZtdDeviceAssignedToOtherTenant",
        )
        assert theirs[1].state.device_import_status == ImportedWindowsAutopilotDeviceIdentityImportStatus.Complete
        # Each tenant sees only its own devices.
        mine = await client.device_management.windows_autopilot_device_identities.get()
        assert sorted(d.serial_number for d in mine.value) == ["1EH2321Y8G", "8NY7017XC5", "WP1SXFYV"]
        listed = await other.device_management.windows_autopilot_device_identities.get()
        assert [d.serial_number for d in listed.value] == ["R43065249P624L22"]

        # Clients delete the imported rows once done.
        imported = client.device_management.imported_windows_autopilot_device_identities
        for r in first + rows:
            await imported.by_imported_windows_autopilot_device_identity_id(r.id).delete()
        left = await imported.get()
        assert left.value == []

    asyncio.run(body())


def test_update_assign_unassign_delete_and_404(server):
    async def body():
        client = server.v1()
        [r] = await import_and_wait(client, [row("lenovo-thinkpad-p14s-gen5.csv")])
        device = client.device_management.windows_autopilot_device_identities.by_windows_autopilot_device_identity_id(
            r.state.device_registration_id
        )
        await device.update_device_properties.post(
            UpdateDevicePropertiesPostRequestBody(group_tag="Kiosk", display_name="KIOSK-07")
        )
        d = await device.get()
        assert (d.group_tag, d.display_name) == ("Kiosk", "KIOSK-07")

        await device.assign_user_to_device.post(
            AssignUserToDevicePostRequestBody(user_principal_name="ada@contoso.com", addressable_user_name="Ada")
        )
        d = await device.get()
        assert (d.user_principal_name, d.addressable_user_name) == ("ada@contoso.com", "Ada")
        await device.unassign_user_from_device.post()
        d = await device.get()
        assert not d.user_principal_name

        await device.delete()
        with pytest.raises(ODataError) as e:
            await device.get()
        assert e.value.response_status_code == 404
        assert e.value.error.code == "ResourceNotFound"
        assert e.value.error.inner_error is not None

    asyncio.run(body())


def test_beta_sync_204_then_429_and_settings(server):
    async def body():
        from msgraph_beta.generated.models.o_data_errors.o_data_error import ODataError as BetaODataError

        beta = server.beta()
        settings = beta.device_management.windows_autopilot_settings
        before = await settings.get()
        assert before.sync_status is not None
        # The new tenant's automatic sync runs right after the server starts; while it runs the
        # answer is 409 (never 429), so retry that, a bounded number of times.
        for _ in range(50):
            try:
                await settings.sync.post()  # 204
                break
            except BetaODataError as e:
                if e.response_status_code != 409:
                    raise
                await asyncio.sleep(0.1)
        else:
            pytest.fail("a sync was still in progress after 50 tries")
        with pytest.raises(BetaODataError) as e:
            await settings.sync.post()
        assert e.value.response_status_code == 429
        assert e.value.error.code == "TooManyRequests"
        after = await settings.get()
        assert after.last_manual_sync_trigger_date_time is not None
        assert after.last_manual_sync_trigger_date_time.year > 2000

    asyncio.run(body())


def test_create_one_imported_device_returns_its_id(server):
    async def body():
        client = server.v1()
        imported = client.device_management.imported_windows_autopilot_device_identities
        created = await imported.post(row("vmware-esxi-notpm.csv", tag="Servers"))
        assert created.id and created.import_id
        assert created.hardware_identifier == fixture_device("vmware-esxi-notpm.csv")[1]
        deadline = time.monotonic() + 30
        while True:
            r = await imported.by_imported_windows_autopilot_device_identity_id(created.id).get()
            if r.state.device_import_status != ImportedWindowsAutopilotDeviceIdentityImportStatus.Unknown:
                break
            assert time.monotonic() < deadline
            await asyncio.sleep(0.1)
        assert r.state.device_import_status == ImportedWindowsAutopilotDeviceIdentityImportStatus.Complete
        listed = await imported.get()
        assert [x.id for x in listed.value] == [created.id]

    asyncio.run(body())
