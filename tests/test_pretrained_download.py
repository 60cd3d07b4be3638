"""Downloading, caching and unpacking pretrained weights, against a local
HTTP server (tests/pretrained_server.py): no network."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import pathlib
import socket
import tarfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Optional

import pytest
from pretrained_server import serve

from slimtorch.checkpoint import load_checkpoint
from slimtorch.pretrained import PretrainedError
from slimtorch.pretrained import cache
from slimtorch.pretrained._archive import extract_checkpoint, verify_sha256
from slimtorch.pretrained._download import download

DATA = os.urandom(300_000)
TF_CHECKPOINTS = pathlib.Path(__file__).parent / "golden" / "tf_checkpoints"   # written by TF


@dataclass(frozen=True)
class Weights:
    """The registry entry's fields the cache uses (duck-typed)."""
    name: str
    url: str
    member: Optional[str]
    sha256: Optional[str] = None
    sha256_prefix: Optional[str] = None

    @property
    def archive_name(self) -> str:
        return self.url.rsplit("/", 1)[-1]


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("SLIMTORCH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SLIMTORCH_OFFLINE", raising=False)
    return tmp_path / "home"


def tar_gz(files: dict, links: dict = None) -> bytes:
    """A .tar.gz of regular files {name: bytes} (and symlinks {name: target})."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    return buffer.getvalue()


V2 = {"x.ckpt.index": b"index bytes", "x.ckpt.data-00000-of-00001": b"data bytes" * 100,
      "x.ckpt.meta": b"graph", "x_frozen.pb": b"frozen"}


def listing(directory) -> list:
    return sorted(os.path.relpath(os.path.join(root, f), directory)
                  for root, _, files in os.walk(directory) for f in files)


# --- download -------------------------------------------------------------------------------

def test_download_writes_the_served_bytes(tmp_path):
    with serve({"/w.bin": DATA}) as server:
        path = download(server.url("/w.bin"), str(tmp_path / "d" / "w.bin"), progress=False,
                        chunk_size=1 << 16)
    assert open(path, "rb").read() == DATA
    assert os.listdir(tmp_path / "d") == ["w.bin"]
    assert [(r.range, r.status) for r in server.requests] == [(None, 200)]


@pytest.mark.parametrize("cut_mode, seen", [("close", "was cut:"), ("reset", "ConnectionResetError"),
                                             ("stall", "TimeoutError")])
def test_a_cut_download_keeps_its_part_and_resumes_with_a_range_request(tmp_path, cut_mode, seen):
    target = str(tmp_path / "w.bin")
    with serve({"/w.bin": DATA}, cut_after=100_000, cut_mode=cut_mode) as server:
        with pytest.raises(PretrainedError, match=rf"{seen}.* of 300000 bytes downloaded; run the same command "
                                                  r"again to resume") as raised:
            download(server.url("/w.bin"), target, progress=False, timeout=0.3, chunk_size=1 << 14)
        assert server.url("/w.bin") in str(raised.value)
        kept = open(target + ".part", "rb").read()
        assert 0 < len(kept) <= 100_000 and DATA.startswith(kept)
        assert not os.path.exists(target)
        download(server.url("/w.bin"), target, progress=False)
    assert open(target, "rb").read() == DATA
    assert not os.path.exists(target + ".part")
    assert [(r.range, r.status) for r in server.requests] == [(None, 200), (f"bytes={len(kept)}-", 206)]


def test_a_server_ignoring_range_starts_over_cleanly(tmp_path):
    target = str(tmp_path / "w.bin")
    with open(target + ".part", "wb") as f:
        f.write(b"stale bytes of another file")
    with serve({"/w.bin": DATA}, ignore_range=True) as server:
        download(server.url("/w.bin"), target, progress=False)
    assert open(target, "rb").read() == DATA
    assert [(r.range, r.status) for r in server.requests] == [("bytes=27-", 200)]


def test_a_complete_part_is_finished_by_a_416(tmp_path):
    target = str(tmp_path / "w.bin")
    with open(target + ".part", "wb") as f:
        f.write(DATA)
    with serve({"/w.bin": DATA}) as server:
        download(server.url("/w.bin"), target, progress=False)
    assert open(target, "rb").read() == DATA
    assert [r.status for r in server.requests] == [416]


def test_a_part_longer_than_the_file_is_downloaded_again(tmp_path):
    target = str(tmp_path / "w.bin")
    with open(target + ".part", "wb") as f:
        f.write(DATA + b"junk")
    with serve({"/w.bin": DATA}) as server:
        download(server.url("/w.bin"), target, progress=False)
    assert open(target, "rb").read() == DATA
    assert [(r.range, r.status) for r in server.requests] == [("bytes=300004-", 416), (None, 200)]


def test_http_errors_name_the_url_the_reason_and_where_to_put_the_file(home):
    weights = Weights("net_a", "", "net_a.ckpt")
    with serve({}, errors={"/forbidden.tar.gz": 403}) as server:
        for path, reason in (("/gone/net_a.tar.gz", "HTTP 404"), ("/forbidden.tar.gz", "HTTP 403")):
            weights = Weights("net_a", server.url(path), "net_a.ckpt")
            with pytest.raises(PretrainedError) as raised:
                cache.fetch_archive(weights, progress=False)
            message = str(raised.value)
            assert message.startswith("net_a: could not download " + weights.url)
            assert reason in message and cache.archive_path(weights) in message
    assert os.listdir(home / "downloads") == []


def test_an_unreachable_host_names_the_url_and_where_to_put_the_file(tmp_path):
    with socket.socket() as s:   # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url, target = f"http://127.0.0.1:{port}/net.tar.gz", str(tmp_path / "net.tar.gz")
    with pytest.raises(PretrainedError, match="refused") as raised:
        download(url, target, progress=False)
    assert url in str(raised.value) and target in str(raised.value)


def test_only_http_https_and_file_urls(tmp_path):
    with pytest.raises(PretrainedError, match="only http, https and file URLs"):
        download("ftp://example.com/net.tar.gz", str(tmp_path / "x"), progress=False)


def test_a_write_error_names_the_partial_file(tmp_path):
    target = str(tmp_path / "w.bin")
    os.mkdir(target + ".part")   # cannot be opened as a file
    with serve({"/w.bin": DATA}) as server:
        with pytest.raises(PretrainedError, match=f"could not save {server.url('/w.bin')} to {target}.part: "):
            download(server.url("/w.bin"), target, progress=False)


# --- the cache ------------------------------------------------------------------------------

def test_cache_dir_falls_back_to_xdg_then_home(tmp_path, monkeypatch):
    monkeypatch.delenv("SLIMTORCH_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_dir() == str(tmp_path / "xdg" / "slimtorch")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert cache.cache_dir() == str(tmp_path / "user" / ".cache" / "slimtorch")
    assert os.path.isdir(tmp_path / "user" / ".cache" / "slimtorch")


@pytest.mark.parametrize("value, offline", [("1", True), ("yes", True), ("TRUE", True), ("0", False),
                                            ("", False), ("no", False)])
def test_is_offline(monkeypatch, value, offline):
    monkeypatch.setenv("SLIMTORCH_OFFLINE", value)
    assert cache.is_offline() is offline


def test_fetch_downloads_once_then_uses_the_cache(home, tmp_path):
    archive = tar_gz(V2)
    with serve({"/zoo/x_2017.tar.gz": archive}) as server:
        weights = Weights("x", server.url("/zoo/x_2017.tar.gz"), "x.ckpt",
                          sha256=hashlib.sha256(archive).hexdigest())
        path = cache.fetch_archive(weights)   # a progress bar, which tqdm hides off a terminal
        assert path == str(home / "downloads" / "x_2017.tar.gz")
        assert cache.fetch_archive(weights, progress=False) == path
        prefix = cache.fetch_checkpoint(weights, str(tmp_path / "out"), progress=False)
    assert server.request_count == 1
    assert open(path, "rb").read() == archive
    assert prefix == str(tmp_path / "out" / "x.ckpt")


def test_processes_sharing_the_cache_download_once(home):
    # Threads stand in for torchrun's ranks: each opens the lock itself, as a process would.
    with serve({"/zoo/x.tar.gz": DATA}) as server:
        weights = Weights("x", server.url("/zoo/x.tar.gz"), "x.ckpt")
        with ThreadPoolExecutor(4) as pool:
            paths = list(pool.map(lambda _: cache.fetch_archive(weights, progress=False), range(4)))
    assert paths == [cache.archive_path(weights)] * 4 and server.request_count == 1
    assert open(paths[0], "rb").read() == DATA


def test_offline_with_the_file_in_the_cache_makes_no_request(home, tmp_path, monkeypatch):
    with serve({"/zoo/x_2017.tar.gz": tar_gz(V2)}) as server:
        weights = Weights("x", server.url("/zoo/x_2017.tar.gz"), "x.ckpt")
        with open(cache.archive_path(weights), "wb") as f:   # put there by hand
            f.write(tar_gz(V2))
        monkeypatch.setenv("SLIMTORCH_OFFLINE", "1")
        prefix = cache.fetch_checkpoint(weights, str(tmp_path / "out"), progress=False)
    assert server.request_count == 0
    assert open(prefix + ".index", "rb").read() == b"index bytes"


def test_offline_without_the_file_names_the_url_and_where_to_put_it(home, monkeypatch):
    monkeypatch.setenv("SLIMTORCH_OFFLINE", "yes")
    with serve({"/zoo/x_2017.tar.gz": tar_gz(V2)}) as server:
        weights = Weights("x", server.url("/zoo/x_2017.tar.gz"), "x.ckpt")
        with pytest.raises(PretrainedError) as raised:
            cache.fetch_archive(weights, progress=False)
    assert server.request_count == 0
    assert str(raised.value) == (
        f"x: not in the cache and SLIMTORCH_OFFLINE is set; download {weights.url} on a connected machine "
        f"and put it at {home}/downloads/x_2017.tar.gz (or run `slimtorch download --model_name=x` there "
        f"and copy {home}/pretrained/x.safetensors)")


def test_a_checksum_mismatch_deletes_the_download(home):
    archive = tar_gz(V2)
    with serve({"/zoo/x.tar.gz": archive}) as server:
        weights = Weights("x", server.url("/zoo/x.tar.gz"), "x.ckpt", sha256="0" * 64)
        with pytest.raises(PretrainedError) as raised:
            cache.fetch_archive(weights, progress=False)
    message = str(raised.value)
    assert hashlib.sha256(archive).hexdigest() in message and "0" * 64 in message
    assert "deleted from the cache" in message
    assert os.listdir(home / "downloads") == []


def test_a_torchvision_file_is_checked_by_its_prefix_and_returned_as_is(home, tmp_path):
    data = b"a torch state dict"
    prefix = hashlib.sha256(data).hexdigest()[:8]
    with serve({f"/models/net-{prefix}.pth": data}) as server:
        weights = Weights("net.torchvision", server.url(f"/models/net-{prefix}.pth"), None,
                          sha256_prefix=prefix)
        path = cache.fetch_checkpoint(weights, str(tmp_path / "out"), progress=False)
    assert path == cache.archive_path(weights) and open(path, "rb").read() == data
    with pytest.raises(PretrainedError, match=f"SHA-256 is {hashlib.sha256(data).hexdigest()}, "
                                              "expected 12345678 \\(a prefix\\)"):
        verify_sha256(path, sha256_prefix="12345678")


def _damaged(archive: bytes, damage: str) -> bytes:
    return {"random bytes": os.urandom(5000), "empty": b"",
            "cut in the members": archive[:len(archive) // 2],
            "cut in gzip's trailer": archive[:-4],   # only the CRC and length are missing
            "flipped byte": archive[:40] + bytes([archive[40] ^ 0xFF]) + archive[41:]}[damage]


@pytest.mark.parametrize("damage", ["random bytes", "empty", "cut in the members", "cut in gzip's trailer",
                                    "flipped byte"])
def test_a_corrupt_archive_fails_clearly_and_leaves_nothing_in_the_cache(home, tmp_path, damage):
    with serve({"/zoo/x.tar.gz": _damaged(tar_gz(V2), damage)}) as server:
        weights = Weights("x", server.url("/zoo/x.tar.gz"), "x.ckpt")
        with pytest.raises(PretrainedError, match=r"^x: .*/x\.tar\.gz is corrupt \(.*\): delete it") as raised:
            cache.fetch_checkpoint(weights, str(tmp_path / "out"), progress=False)
    assert "deleted from the cache" in str(raised.value)
    assert os.listdir(home / "downloads") == []
    assert listing(tmp_path / "out") == []


# --- unpacking ------------------------------------------------------------------------------

def _archive(tmp_path, files, links=None) -> str:
    path = str(tmp_path / "a.tar.gz")
    with open(path, "wb") as f:
        f.write(tar_gz(files, links))
    return path


def test_a_v2_checkpoint_unpacks_its_index_and_data_only(tmp_path):
    out = tmp_path / "out"
    prefix = extract_checkpoint(Weights("x", "u/a.tar.gz", "./x.ckpt"), _archive(tmp_path, V2), str(out))
    assert prefix == str(out / "x.ckpt")
    assert listing(out) == ["x.ckpt.data-00000-of-00001", "x.ckpt.index"]
    assert open(prefix + ".data-00000-of-00001", "rb").read() == V2["x.ckpt.data-00000-of-00001"]


def test_a_v1_checkpoint_is_one_file(tmp_path):
    files = {"inception_v3.ckpt": b"v1 checkpoint", "eval.graph": b"graph"}
    out = tmp_path / "out"
    path = extract_checkpoint(Weights("inception_v3", "u/a.tar.gz", "inception_v3.ckpt"),
                              _archive(tmp_path, files), str(out))
    assert path == str(out / "inception_v3.ckpt") and open(path, "rb").read() == b"v1 checkpoint"
    assert listing(out) == ["inception_v3.ckpt"]


def test_a_member_in_folders_keeps_them(tmp_path):
    files = {f"v3/{kind}/model-540000.{suffix}": kind.encode() for kind in ("ema", "pristine")
             for suffix in ("index", "data-00000-of-00001")}
    out = tmp_path / "out"
    prefix = extract_checkpoint(Weights("v3", "u/a.tar.gz", "v3/ema/model-540000"),
                                _archive(tmp_path, files), str(out))
    assert prefix == str(out / "v3" / "ema" / "model-540000")
    assert listing(out) == ["v3/ema/model-540000.data-00000-of-00001", "v3/ema/model-540000.index"]


def test_an_absent_member_falls_back_to_the_only_checkpoint(tmp_path, caplog):
    files = {"other.ckpt.index": b"i", "other.ckpt.data-00000-of-00001": b"d", "other.ckpt.meta": b"m"}
    with caplog.at_level(logging.WARNING, logger="slimtorch.pretrained"):
        prefix = extract_checkpoint(Weights("x", "u/a.tar.gz", "model.ckpt"), _archive(tmp_path, files),
                                    str(tmp_path / "out"))
    assert prefix == str(tmp_path / "out" / "other.ckpt")
    assert "has no checkpoint 'model.ckpt'; using the one it holds, 'other.ckpt'" in caplog.text


def test_an_absent_member_is_found_under_a_top_folder(tmp_path):
    files = {"top/model.ckpt.index": b"i", "top/model.ckpt.data-00000-of-00001": b"d",
             "top/other.ckpt.index": b"i", "top/other.ckpt.data-00000-of-00001": b"d"}
    prefix = extract_checkpoint(Weights("x", "u/a.tar.gz", "model.ckpt"), _archive(tmp_path, files),
                                str(tmp_path / "out"))
    assert prefix == str(tmp_path / "out" / "top" / "model.ckpt")


def test_an_ambiguous_archive_lists_its_checkpoints_and_is_kept(home, tmp_path):
    files = {"a.ckpt.index": b"i", "a.ckpt.data-00000-of-00001": b"d",
             "b.ckpt.index": b"i", "b.ckpt.data-00000-of-00001": b"d"}
    with serve({"/x.tar.gz": tar_gz(files)}) as server:
        weights = Weights("x", server.url("/x.tar.gz"), "model.ckpt")
        with pytest.raises(PretrainedError, match=r"has no checkpoint 'model.ckpt' \(the registry's member\) "
                                                  r"and several .*checkpoints found: a.ckpt, b.ckpt"):
            cache.fetch_checkpoint(weights, str(tmp_path / "out"), progress=False)
    assert os.path.isfile(cache.archive_path(weights))   # a registry mistake: downloading again won't help
    assert listing(tmp_path / "out") == []


def test_a_v2_checkpoint_missing_a_shard_is_named(tmp_path):
    files = {"x.ckpt.index": b"i", "x.ckpt.data-00001-of-00002": b"d"}
    with pytest.raises(PretrainedError, match=r"holds x.ckpt.index but not x.ckpt.data-00000-of-00002"):
        extract_checkpoint(Weights("x", "u/a.tar.gz", "x.ckpt"), _archive(tmp_path, files),
                           str(tmp_path / "out"))
    assert listing(tmp_path / "out") == []


@pytest.mark.parametrize("bad", ["../x.ckpt.index", "/abs/x.ckpt.index", "dir/../../x.ckpt"])
def test_members_outside_the_folder_refuse_the_archive(home, tmp_path, bad):
    with serve({"/x.tar.gz": tar_gz({**V2, bad: b"evil"})}) as server:
        weights = Weights("x", server.url("/x.tar.gz"), "x.ckpt")
        with pytest.raises(PretrainedError, match=f"refusing the archive: member '{bad}' would be written "
                                                  "outside the target folder"):
            cache.fetch_checkpoint(weights, str(tmp_path / "out"), progress=False)
    assert not (tmp_path / "x.ckpt.index").exists() and not os.path.exists("/abs")
    assert os.listdir(home / "downloads") == [] and listing(tmp_path / "out") == []


def test_a_link_among_the_checkpoint_files_is_refused(tmp_path):
    archive = _archive(tmp_path, {"x.ckpt.data-00000-of-00001": b"d"}, links={"x.ckpt.index": "/etc/passwd"})
    with pytest.raises(PretrainedError, match="refusing 'x.ckpt.index': a checkpoint file that is a link"):
        extract_checkpoint(Weights("x", "u/a.tar.gz", "x.ckpt"), archive, str(tmp_path / "out"))
    assert listing(tmp_path / "out") == []


def test_a_download_that_is_the_checkpoint_is_returned_as_is(tmp_path):
    path = str(tmp_path / "net-1234abcd.pth")
    assert extract_checkpoint(Weights("n", "u/net-1234abcd.pth", None), path, str(tmp_path / "out")) == path


@pytest.mark.parametrize("fixture", ["v1_saver", "v2_saver"])
def test_a_served_tf_checkpoint_arrives_readable(home, tmp_path, fixture):
    # research/slim's layout: the checkpoint beside files fine-tuning does not need.
    source = TF_CHECKPOINTS / fixture
    files = {f.name: f.read_bytes() for f in source.iterdir() if f.name.startswith("model.ckpt")}
    with serve({"/models/net_2017_04_14.tar.gz": tar_gz({**files, "eval.graph": b"graph"})}) as server:
        weights = Weights("net", server.url("/models/net_2017_04_14.tar.gz"), "model.ckpt")
        path = cache.fetch_checkpoint(weights, str(tmp_path / "out"), progress=False)
    assert path == str(tmp_path / "out" / "model.ckpt")
    with load_checkpoint(path) as got, load_checkpoint(str(source / "model.ckpt")) as want:
        names = sorted(want.get_variable_to_shape_map())
        assert names and sorted(got.get_variable_to_shape_map()) == names
        for name in names:
            assert (got.get_tensor(name) == want.get_tensor(name)).all()
