"""`aura-choreo keygen DEVICE -o DIR`: an Ed25519 device key pair (SPEC §5.6).

Writes `DIR/DEVICE.key` (PKCS#8 PEM, mode 0600) and prints the public key as `ed25519:<base64>`, to
paste into the policy as the device's `public_key`.
"""

from __future__ import annotations

import click

from aura_choreo.cli.out_paths import require_output_dir
from aura_choreo.cli.output import fail, print_json
from aura_choreo.errors import KeyFileError
from aura_choreo.transports.net.identity import write_key_file


@click.command(name="keygen", help="Create a device's Ed25519 key pair; print its public key.")
@click.argument("device")
@click.option("-o", "--out", "directory", required=True, metavar="DIR", help="Where DEVICE.key goes.")
@click.option("--force", is_flag=True, help="Replace an existing key file.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--quiet", is_flag=True, help="Print only the public key.")
def command(device: str, directory: str, force: bool, as_json: bool, quiet: bool) -> None:
    require_output_dir(directory)
    try:
        path, public = write_key_file(device, directory, force=force)
    except KeyFileError as exc:
        fail(str(exc), code=2)
        return
    except OSError as exc:  # the folder passed the checks but cannot be made (e.g. under /proc)
        fail(f"cannot write into `{directory}`: {exc.strerror or exc}", code=2)
        return
    if as_json:
        print_json({"ok": True, "device": device, "key_file": str(path), "public_key": public})
        return
    click.echo(public)
    if not quiet:
        click.echo(f"wrote {path} (mode 0600); put the line above in the policy:", err=True)
        click.echo(f'  [devices.{device}]\n  public_key = "{public}"', err=True)
