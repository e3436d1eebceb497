"""A policy served elsewhere, over openpi's websocket protocol: ``model=policy_server
model.address=ws://host:port``.

The wire format is openpi's (openpi-client 0.1.2 ``websocket_client_policy.py`` and
``msgpack_numpy.py``; its package pins numpy < 2, so it cannot install beside lawm-eval and the
format is re-implemented here from msgpack and websockets): on connecting, the server sends one
msgpack map of metadata; then every ``infer`` is one binary message, a msgpack map with numpy arrays
as ``{"__ndarray__": True, "data", "dtype", "shape"}``, answered the same way (a text message is the
server's error). Object arrays never travel, so nothing received can run code.

What is sent is what openpi's own clients send:
- LIBERO (openpi ``examples/libero/main.py``): ``observation/image`` and ``observation/wrist_image``
  (224×224 uint8, rotated and ``resize_with_pad``-ed: the suite does both for the declared inputs),
  ``observation/state`` (8), ``prompt``; the answer's ``actions`` chunk runs ``execute_steps`` at a time.
- RoboTwin (RoboTwin ``policy/pi0``): ``images.cam_*`` CHW, ``state`` (14), ``prompt``
  (``lawm_eval.envs.robotwin_io``).

A server that goes away mid-episode is waited for (``model.reconnect_s``); the episode then fails with
a ``TransientError`` and the runner runs it again from its start. lawm-eval's own server
(``lawm-eval serve``) also answers ``{"lawm/reset": seed}``, so seeded policies behave as in process.
"""

from __future__ import annotations

import functools
import time
from typing import Any

import numpy as np

from lawm_eval.bundle import ModelBundle
from lawm_eval.errors import ConfigError, ModelError, TransientError
from lawm_eval.inputs import ModelInputs

RESET_KEY = "lawm/reset"  # lawm-eval's servers reset the policy on {"lawm/reset": seed}; openpi's have no reset
FORMATS = ("libero", "robotwin")


# -- openpi's msgpack encoding of numpy arrays -------------------------------------------------------
def _pack_default(obj: Any) -> Any:
    if isinstance(obj, (np.ndarray, np.generic)) and obj.dtype.kind in "VOc":
        raise ValueError(f"arrays of dtype {obj.dtype} cannot be sent")
    if isinstance(obj, np.ndarray):
        return {b"__ndarray__": True, b"data": obj.tobytes(), b"dtype": obj.dtype.str, b"shape": obj.shape}
    if isinstance(obj, np.generic):
        return {b"__npgeneric__": True, b"data": obj.item(), b"dtype": obj.dtype.str}
    raise TypeError(f"a {type(obj).__name__} cannot be sent")


def _unpack_hook(obj: dict) -> Any:
    if b"__ndarray__" in obj:
        dtype = np.dtype(obj[b"dtype"])
        if dtype.kind in "VOc":
            raise ValueError(f"refusing an array of dtype {dtype}")
        return np.frombuffer(obj[b"data"], dtype=dtype).reshape(obj[b"shape"]).copy()
    if b"__npgeneric__" in obj:
        dtype = np.dtype(obj[b"dtype"])
        if dtype.kind in "VOc":
            raise ValueError(f"refusing a scalar of dtype {dtype}")
        return dtype.type(obj[b"data"])
    return obj


def packb(obj: Any) -> bytes:
    import msgpack

    return msgpack.packb(obj, default=_pack_default)


def unpackb(data: bytes) -> Any:
    import msgpack

    return msgpack.unpackb(data, object_hook=_unpack_hook)


# -- the client --------------------------------------------------------------------------------------
class PolicyServerClient:
    """One websocket connection to a policy server; reconnects (waiting up to ``reconnect_s``)."""

    def __init__(self, address: str, api_key: str | None = None, timeout_s: float = 300.0, reconnect_s: float = 30.0):
        if not address.startswith(("ws://", "wss://")):
            address = f"ws://{address}"
        self.address, self.api_key, self.timeout_s, self.reconnect_s = address, api_key, timeout_s, reconnect_s
        self._ws: Any = None
        self.metadata: dict[str, Any] = {}
        self.calls = 0

    def connect(self, wait_s: float = 0.0) -> None:
        import websockets.sync.client

        headers = {"Authorization": f"Api-Key {self.api_key}"} if self.api_key else None
        deadline = time.monotonic() + wait_s
        while True:
            try:
                self._ws = websockets.sync.client.connect(self.address, compression=None, max_size=None,
                                                          additional_headers=headers, open_timeout=10)
                self.metadata = unpackb(self._ws.recv(timeout=self.timeout_s))
                return
            except (OSError, TimeoutError, websockets.exceptions.WebSocketException) as exc:
                self._ws = None
                if time.monotonic() >= deadline:
                    raise TransientError(f"policy server at {self.address} is not reachable: "
                                         f"{type(exc).__name__}: {exc}") from None
                time.sleep(0.5)

    def infer(self, request: dict[str, Any]) -> dict[str, Any]:
        """Send one observation, return the server's answer; a lost connection is a TransientError (the
        next call reconnects)."""
        import websockets

        if self._ws is None:
            self.connect(wait_s=self.reconnect_s)
        try:
            self._ws.send(packb(request))
            answer = self._ws.recv(timeout=self.timeout_s)
        except (OSError, TimeoutError, websockets.exceptions.WebSocketException) as exc:
            self.close()
            raise TransientError(f"policy server at {self.address} went away mid-episode: "
                                 f"{type(exc).__name__}: {exc}") from None
        self.calls += 1
        if isinstance(answer, str):
            lines = [line for line in answer.strip().splitlines() if line.strip()]
            raise ModelError(f"policy server at {self.address} failed: {lines[-1] if lines else 'no message'}")
        try:
            result = unpackb(answer)
        except Exception as exc:  # noqa: BLE001 - an answer we cannot read is the server's fault
            raise ModelError(f"policy server at {self.address} sent an unreadable answer: {exc}") from None
        if not isinstance(result, dict):
            raise ModelError(f"policy server at {self.address} answered a {type(result).__name__}, expected a map")
        return result

    def close(self) -> None:
        if self._ws is not None:
            try:
                self._ws.close()
            except Exception:  # noqa: BLE001
                pass
        self._ws = None


# -- the served policy ----------------------------------------------------------------------------------
def libero_request(obs: dict[str, Any]) -> dict[str, Any]:
    """openpi's LIBERO example request from the LIBERO suite's observation."""
    return {"observation/image": np.ascontiguousarray(obs["image"]),
            "observation/wrist_image": np.ascontiguousarray(obs["wrist_image"]),
            "observation/state": np.asarray(obs["state"], dtype=np.float64), "prompt": str(obs["task"])}


def robotwin_request(obs: dict[str, Any]) -> dict[str, Any]:
    from lawm_eval.envs.robotwin_io import openpi_request

    return openpi_request(obs["raw"], str(obs["task"]))


class ServedPolicy:
    """The Policy protocol over a policy server: ``act`` sends the observation in the suite's openpi
    format and returns the answer's ``actions`` chunk."""

    def __init__(self, client: PolicyServerClient, request_format: str):
        self.client, self.request_format = client, request_format
        self.to_request = libero_request if request_format == "libero" else robotwin_request

    def fork(self) -> ServedPolicy:
        """A copy with its own connection, for one more environment (executor.envs_per_worker)."""
        c = self.client
        return ServedPolicy(PolicyServerClient(c.address, c.api_key, c.timeout_s, c.reconnect_s), self.request_format)

    def close(self) -> None:
        self.client.close()

    def reset(self, seed: int) -> None:
        if self.client._ws is None:
            self.client.connect(wait_s=self.client.reconnect_s)
        if self.client.metadata.get("lawm_reset"):
            self.client.infer({RESET_KEY: int(seed)})

    def act(self, obs: dict[str, Any]) -> np.ndarray:
        answer = self.client.infer(self.to_request(obs))
        if "actions" not in answer:
            raise ModelError(f"policy server at {self.client.address} answered without 'actions' "
                             f"(keys: {', '.join(map(str, answer))})")
        return np.asarray(answer["actions"], dtype=np.float64)


def suite_format(suite: Any) -> str:
    name = getattr(suite, "name", "") or ""
    if name.startswith("libero"):
        return "libero"
    if name.startswith("robotwin"):
        return "robotwin"
    raise ConfigError(f"model 'policy_server' speaks openpi's LIBERO and RoboTwin formats; suite '{name}' is "
                      "neither (set model.request_format to force one)")


@functools.cache
def _check_extra() -> None:
    from lawm_eval.extras import require_extra

    require_extra("serve", "model 'policy_server'")


def build_policy_server(suite: Any = None, address: str = "", api_key: str | None = None,
                        request_format: str | None = None, timeout_s: float = 300.0,
                        reconnect_s: float = 30.0) -> ModelBundle:
    """``model=policy_server model.address=ws://host:port``: a policy behind openpi's websocket protocol."""
    _check_extra()
    if not address:
        raise ConfigError("model 'policy_server' needs model.address=ws://host:port")
    chosen = request_format or suite_format(suite)
    if chosen not in FORMATS:
        raise ConfigError(f"model.request_format must be one of {', '.join(FORMATS)}, got {chosen!r}")
    client = PolicyServerClient(address, api_key, timeout_s, reconnect_s)
    client.connect(wait_s=reconnect_s)
    inputs = (ModelInputs(observation="image", image_size=(224, 224), resize="resize_with_pad", gripper="env")
              if chosen == "libero" else ModelInputs(observation="image"))
    return ModelBundle("policy_server", policy=ServedPolicy(client, chosen), inputs=inputs,
                       info={"provenance": f"served at {client.address}", "server_metadata": _plain(client.metadata)})


def _plain(value: Any) -> Any:
    """Server metadata as JSON-safe values (bytes keys and numpy values become text and lists)."""
    if isinstance(value, dict):
        return {(k.decode() if isinstance(k, bytes) else str(k)): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, np.generic):
        return value.item()
    return value
