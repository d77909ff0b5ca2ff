"""Download, extraction and MOT17 layout against a real HTTP server on 127.0.0.1 (never the internet)."""

from __future__ import annotations

import hashlib
import io
import shutil
import stat
import threading
import zipfile
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from fairmot.data.archives import ExtractLimits, extract_zip_safely, zip_problem
from fairmot.data.download import download_file, prepare_mot17
from fairmot.errors import DataError

SEQINFO = "[Sequence]\nname={name}\nimDir=img1\nframeRate=30\nseqLength=2\nimWidth=64\nimHeight=48\nimExt=.jpg\n"


def mot17_zip() -> bytes:
    """A tiny archive in the official MOT17.zip layout: three detector copies of one train sequence."""
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        sequences = [("train", "MOT17-02-DPM"), ("train", "MOT17-02-FRCNN"), ("train", "MOT17-02-SDP"),
                     ("train", "MOT17-04-SDP"), ("test", "MOT17-01-SDP"), ("test", "MOT17-01-DPM")]
        for split, name in sequences:
            base = f"MOT17/{split}/{name}"
            zf.writestr(f"{base}/seqinfo.ini", SEQINFO.format(name=name))
            for frame in (1, 2):
                zf.writestr(f"{base}/img1/{frame:06d}.jpg", rng.integers(0, 256, 3000, dtype=np.uint8).tobytes())
            if split == "train":
                zf.writestr(f"{base}/gt/gt.txt", "1,1,10,10,5,10,1,1,1\n")
    return buf.getvalue()


@dataclass
class Server:
    url: str
    files: dict[str, bytes]
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    drop_first_after: int | None = None  # first GET sends only this many bytes, then hangs up
    ignore_range: bool = False
    no_length: bool = False  # no Content-Length: a short body looks complete to the client


@pytest.fixture
def server():
    state = Server(url="", files={})

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep pytest output clean
            pass

        def do_GET(self):
            state.requests.append((self.path, self.headers.get("Range")))
            body = state.files.get(self.path)
            if body is None:
                self.send_error(404, "Not Found")
                return
            start = 0
            rng = self.headers.get("Range")
            if rng and not state.ignore_range:
                start = int(rng.removeprefix("bytes=").split("-")[0])
                if start >= len(body):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(body)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            else:
                self.send_response(200)
            if not state.no_length:
                self.send_header("Content-Length", str(len(body) - start))
            self.end_headers()
            payload = body[start:]
            if state.drop_first_after is not None:
                payload, state.drop_first_after = payload[: state.drop_first_after], None
                self.wfile.write(payload)
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(payload)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    state.files["/MOT17.zip"] = mot17_zip()
    yield state
    httpd.shutdown()
    httpd.server_close()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_full_download_verifies_checksums_and_leaves_no_part_file(server, tmp_path):
    body = server.files["/MOT17.zip"]
    dest = download_file(server.url + "/MOT17.zip", tmp_path / "MOT17.zip", sha256=sha256(body),
                         md5=hashlib.md5(body).hexdigest(), progress=False)
    assert dest.read_bytes() == body
    assert sorted(p.name for p in tmp_path.iterdir()) == ["MOT17.zip"]
    assert server.requests == [("/MOT17.zip", None)]
    # a second call finds the verified file and does not touch the network
    download_file(server.url + "/MOT17.zip", dest, sha256=sha256(body), progress=False)
    assert len(server.requests) == 1


def test_dropped_connection_resumes_with_a_range_request(server, tmp_path):
    body = server.files["/MOT17.zip"]
    server.drop_first_after = 10_000
    dest = download_file(server.url + "/MOT17.zip", tmp_path / "MOT17.zip", sha256=sha256(body), progress=False)
    assert dest.read_bytes() == body
    assert server.requests == [("/MOT17.zip", None), ("/MOT17.zip", "bytes=10000-")]


def test_interrupted_earlier_run_resumes_from_its_part_file(server, tmp_path):
    body = server.files["/MOT17.zip"]
    (tmp_path / "MOT17.zip.part").write_bytes(body[:4321])
    dest = download_file(server.url + "/MOT17.zip", tmp_path / "MOT17.zip", sha256=sha256(body), progress=False)
    assert dest.read_bytes() == body
    assert server.requests == [("/MOT17.zip", "bytes=4321-")]


def test_server_ignoring_range_gets_the_file_from_the_start(server, tmp_path):
    body = server.files["/MOT17.zip"]
    server.ignore_range = True
    (tmp_path / "MOT17.zip.part").write_bytes(b"x" * 500)  # not even the right bytes
    dest = download_file(server.url + "/MOT17.zip", tmp_path / "MOT17.zip", sha256=sha256(body), progress=False)
    assert dest.read_bytes() == body


def test_complete_part_file_is_finished_without_a_body(server, tmp_path):
    body = server.files["/MOT17.zip"]
    (tmp_path / "MOT17.zip.part").write_bytes(body)
    dest = download_file(server.url + "/MOT17.zip", tmp_path / "MOT17.zip", sha256=sha256(body), progress=False)
    assert dest.read_bytes() == body
    assert server.requests == [("/MOT17.zip", f"bytes={len(body)}-")]


def test_checksum_mismatch_is_an_error_and_removes_the_download(server, tmp_path):
    with pytest.raises(DataError, match=r"sha256 mismatch \(expected 0{64}, got [0-9a-f]{64}\).*deleted"):
        download_file(server.url + "/MOT17.zip", tmp_path / "MOT17.zip", sha256="0" * 64, progress=False)
    with pytest.raises(DataError, match="md5 mismatch"):
        download_file(server.url + "/MOT17.zip", tmp_path / "MOT17.zip", md5="0" * 32, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_missing_url_is_a_clear_error(server, tmp_path):
    with pytest.raises(DataError, match=r"/nope.zip: HTTP 404.*data.url"):
        download_file(server.url + "/nope.zip", tmp_path / "nope.zip", progress=False)
    assert server.requests == [("/nope.zip", None)]  # a 404 is not retried


def write_zip(path: Path, members: list[zipfile.ZipInfo | str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for member in members:
            zf.writestr(member, b"data")
    return path


@pytest.mark.parametrize("name, why", [
    ("../evil.txt", "contains '..'"),
    ("MOT17/train/../../evil.txt", "contains '..'"),
    ("/tmp/evil.txt", "absolute path"),
    ("C:\\evil.txt", "absolute path"),
])
def test_unsafe_member_rejects_the_archive_before_writing_anything(tmp_path, name, why):
    archive = write_zip(tmp_path / "bad.zip", ["MOT17/ok.txt", zipfile.ZipInfo(name)])
    out = tmp_path / "out"
    with pytest.raises(DataError, match=why):
        extract_zip_safely(archive, out)
    assert not out.exists()
    assert not (tmp_path / "evil.txt").exists()


def test_symlink_member_is_rejected(tmp_path):
    link = zipfile.ZipInfo("MOT17/link")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    archive = write_zip(tmp_path / "bad.zip", [link])
    with pytest.raises(DataError, match="symbolic link"):
        extract_zip_safely(archive, tmp_path / "out")


def test_safe_archive_extracts_every_file(tmp_path):
    archive = write_zip(tmp_path / "ok.zip", ["a/b.txt", "c.txt"])
    written = extract_zip_safely(archive, tmp_path / "out")
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in written) == ["a/b.txt", "c.txt"]


def test_downloaded_mot17_zip_becomes_images_layout_with_sdp_copies_only(server, tmp_path):
    archive = download_file(server.url + "/MOT17.zip", tmp_path / "MOT17.zip", progress=False)
    out = tmp_path / "data" / "dataset"
    prepare_mot17(archive, out, ["MOT17-02-SDP", "MOT17-04-SDP", "MOT17-*-SDP"])
    assert sorted(p.relative_to(out).as_posix() for p in out.glob("images/*/*")) == [
        "images/test/MOT17-01-SDP", "images/train/MOT17-02-SDP", "images/train/MOT17-04-SDP"]
    assert (out / "images/train/MOT17-02-SDP/gt/gt.txt").read_text() == "1,1,10,10,5,10,1,1,1\n"
    assert sorted(p.name for p in (out / "images/train/MOT17-02-SDP/img1").iterdir()) == ["000001.jpg", "000002.jpg"]
    assert sorted(p.name for p in out.iterdir()) == [".fairmot-output", "images"]  # + the ownership marker
    assert sorted(p.name for p in out.parent.iterdir()) == ["dataset"]  # temp sibling renamed away


def test_empty_sequence_list_keeps_the_sdp_copies(server, tmp_path):
    archive = write_bytes(tmp_path / "MOT17.zip", server.files["/MOT17.zip"])
    prepare_mot17(archive, tmp_path / "dataset", [])
    assert sorted(p.name for p in (tmp_path / "dataset").glob("images/*/*")) == [
        "MOT17-01-SDP", "MOT17-02-SDP", "MOT17-04-SDP"]


def write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_requested_sequence_missing_from_the_archive_is_named(server, tmp_path):
    archive = write_bytes(tmp_path / "MOT17.zip", server.files["/MOT17.zip"])
    (tmp_path / "dataset").mkdir()
    (tmp_path / "dataset" / "keep.txt").write_text("previous dataset")
    (tmp_path / "dataset" / ".fairmot-output").write_text("written by fairmot\n")  # a dataset this tool wrote
    with pytest.raises(DataError, match=r"sequences not found: MOT17-13-SDP \(available: MOT17-02-DPM"):
        prepare_mot17(archive, tmp_path / "dataset", ["MOT17-13-SDP"])
    # the previous output is untouched and no temporary folder is left behind
    assert (tmp_path / "dataset" / "keep.txt").read_text() == "previous dataset"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["MOT17.zip", "dataset"]


def test_local_folder_in_images_layout_is_copied(tiny_dataset, tmp_path):
    prepare_mot17(tiny_dataset, tmp_path / "dataset", [])
    copied = sorted(p.relative_to(tmp_path / "dataset").as_posix() for p in (tmp_path / "dataset").rglob("*")
                    if p.is_file() and p.name != ".fairmot-output")
    original = sorted(p.relative_to(tiny_dataset).as_posix() for p in tiny_dataset.rglob("*") if p.is_file())
    assert copied == original


def test_local_folder_missing_pieces_are_named(tmp_path):
    seq = tmp_path / "mine" / "MOT17" / "train" / "MOT17-02-SDP"
    (seq / "img1").mkdir(parents=True)
    (seq / "seqinfo.ini").write_text(SEQINFO.format(name="MOT17-02-SDP"))
    with pytest.raises(DataError, match=r"MOT17-02-SDP: missing gt/gt.txt"):
        prepare_mot17(tmp_path / "mine", tmp_path / "dataset", [])
    (tmp_path / "flat").mkdir()
    with pytest.raises(DataError, match=r"flat: no train/<sequence>/ folders found; expected MOT17 layout"):
        prepare_mot17(tmp_path / "flat", tmp_path / "dataset", [])
    with pytest.raises(DataError, match="not found; set data.path"):
        prepare_mot17(tmp_path / "absent", tmp_path / "dataset", [])
    assert not (tmp_path / "dataset").exists()


def test_download_command_fetches_mot17_from_the_url_and_names_missing_sequences(server, tmp_path):
    import yaml
    from typer.testing import CliRunner

    import stages.download  # noqa: F401  (registers the command)
    from stages.app import app

    body = server.files["/MOT17.zip"]
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"data": {"sha256": sha256(body), "sequences": ["MOT17-02-SDP", "MOT17-01-SDP"]}}))
    args = ["download", "--params", str(params), "--source", "mot17", "--url", server.url + "/MOT17.zip",
            "--out", str(tmp_path / "dataset"), "--cache", str(tmp_path / "downloads")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert sorted(p.relative_to(tmp_path / "dataset").as_posix() for p in (tmp_path / "dataset").glob("images/*/*")) == [
        "images/test/MOT17-01-SDP", "images/train/MOT17-02-SDP"]
    assert (tmp_path / "downloads" / "MOT17.zip").read_bytes() == body
    # the default list asks for all seven SDP training sequences; the tiny archive lacks most of them
    params.write_text(yaml.safe_dump({"data": {"sha256": sha256(body)}}))
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert "sequences not found: MOT17-05-SDP, MOT17-09-SDP" in result.output
    assert len(server.requests) == 1  # the verified zip was reused, not downloaded again
    # local source: the same zip taken from disk
    result = CliRunner().invoke(app, ["download", "--params", str(params), "--source", "local", "--path",
                                      str(tmp_path / "downloads" / "MOT17.zip"), "--out", str(tmp_path / "local")])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "local").glob("images/*/*")) == ["MOT17-01-SDP", "MOT17-02-SDP", "MOT17-04-SDP"]


def test_only_the_kept_sequences_are_extracted_from_a_zip(server, tmp_path, monkeypatch):
    import fairmot.data.download as download

    archive = write_bytes(tmp_path / "MOT17.zip", server.files["/MOT17.zip"])
    written = []
    real = download.extract_zip_safely

    def spy(*args, **kwargs):
        written.extend(real(*args, **kwargs))
        return written

    monkeypatch.setattr(download, "extract_zip_safely", spy)
    prepare_mot17(archive, tmp_path / "dataset", ["MOT17-02-SDP"])
    assert sorted({p.parts[-3] if p.parent.name in ("img1", "gt") else p.parts[-2] for p in written}) == ["MOT17-02-SDP"]
    assert len(written) == 4  # seqinfo.ini, two frames, gt.txt


def test_local_zip_in_images_layout_is_unpacked(tiny_dataset, tmp_path):
    import shutil

    archive = Path(shutil.make_archive(str(tmp_path / "mine"), "zip", root_dir=tiny_dataset))
    prepare_mot17(archive, tmp_path / "dataset", ["SYN-02"])
    assert sorted(p.relative_to(tmp_path / "dataset").as_posix() for p in (tmp_path / "dataset").glob("images/*/*")) == [
        "images/train/SYN-02"]
    assert (tmp_path / "dataset/images/train/SYN-02/gt/gt.txt").read_bytes() == (
        tiny_dataset / "images/train/SYN-02/gt/gt.txt").read_bytes()


def damaged(body: bytes, member: str) -> bytes:
    """`body` with one byte of `member`'s stored data flipped: the archive opens, the CRC fails."""
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        data = zf.read(member)
    at = body.find(data) + len(data) // 2
    return body[:at] + bytes([body[at] ^ 0xFF]) + body[at + 1:]


def test_download_cut_short_without_content_length_is_resumed_not_kept(server, tmp_path):
    body = server.files["/MOT17.zip"]
    server.no_length, server.drop_first_after = True, 10_000
    dest = download_file(server.url + "/MOT17.zip", tmp_path / "MOT17.zip", progress=False)
    assert dest.read_bytes() == body
    assert server.requests == [("/MOT17.zip", None), ("/MOT17.zip", "bytes=10000-")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["MOT17.zip"]


def test_short_read_without_content_length_is_resumed_before_the_checksum_is_judged(server, tmp_path):
    body = server.files["/MOT17.zip"]
    server.no_length, server.drop_first_after = True, 10_000
    dest = download_file(server.url + "/MOT17.zip", tmp_path / "MOT17.zip", sha256=sha256(body), progress=False)
    assert dest.read_bytes() == body
    assert server.requests == [("/MOT17.zip", None), ("/MOT17.zip", "bytes=10000-")]


def test_truncated_remote_zip_stays_out_of_the_final_name_and_names_the_file_to_delete(server, tmp_path):
    server.files["/MOT17.zip"] = server.files["/MOT17.zip"][:20_000]
    server.no_length = True
    dest, part = tmp_path / "MOT17.zip", tmp_path / "MOT17.zip.part"
    with pytest.raises(DataError) as error:
        download_file(server.url + "/MOT17.zip", dest, progress=False)
    assert "truncated or corrupt zip archive (no central directory" in str(error.value)
    assert f"Delete {part} and run the command again" in str(error.value)
    assert not dest.exists() and part.stat().st_size == 20_000
    assert len(server.requests) == 2  # one resume that brought nothing new, then it gives up


def test_downloaded_zip_with_a_bad_crc_is_refused_without_a_checksum(server, tmp_path):
    server.files["/MOT17.zip"] = damaged(server.files["/MOT17.zip"], "MOT17/train/MOT17-04-SDP/img1/000002.jpg")
    with pytest.raises(DataError, match=r"member 'MOT17/train/MOT17-04-SDP/img1/000002.jpg' fails its CRC check.*Delete "):
        download_file(server.url + "/MOT17.zip", tmp_path / "MOT17.zip", progress=False)
    assert not (tmp_path / "MOT17.zip").exists()


def test_something_that_is_no_zip_is_refused_at_download(server, tmp_path):
    server.files["/MOT17.zip"] = b"<html>maintenance</html>"
    with pytest.raises(DataError, match=r"not a zip archive \(it starts with b'<htm'\)"):
        download_file(server.url + "/MOT17.zip", tmp_path / "MOT17.zip", progress=False)
    assert len(server.requests) == 1 and not (tmp_path / "MOT17.zip").exists()


def test_cached_truncated_zip_of_an_earlier_run_is_downloaded_again(server, tmp_path):
    body = server.files["/MOT17.zip"]
    write_bytes(tmp_path / "MOT17.zip", body[:5000])
    dest = download_file(server.url + "/MOT17.zip", tmp_path / "MOT17.zip", progress=False)
    assert dest.read_bytes() == body and server.requests == [("/MOT17.zip", None)]


def test_zip_member_with_a_bad_crc_is_a_data_error_naming_archive_and_member(server, tmp_path):
    member = "MOT17/train/MOT17-02-SDP/img1/000001.jpg"
    archive = write_bytes(tmp_path / "MOT17.zip", damaged(server.files["/MOT17.zip"], member))
    assert zip_problem(archive) == (f"a corrupt zip archive (member {member!r} fails its CRC check)", False)
    with pytest.raises(DataError) as error:
        prepare_mot17(archive, tmp_path / "dataset", ["MOT17-02-SDP"])
    assert str(error.value).startswith(f"{archive}: member {member!r} is damaged (Bad CRC-32")
    assert f"delete {archive} and download it again" in str(error.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["MOT17.zip"]  # no half dataset, no temporaries


def test_truncated_zip_is_called_corrupt_and_names_the_file_to_delete(server, tmp_path):
    archive = write_bytes(tmp_path / "MOT17.zip", server.files["/MOT17.zip"][:20_000])
    with pytest.raises(DataError) as error:
        prepare_mot17(archive, tmp_path / "dataset", [])
    assert "looks truncated or corrupt" in str(error.value)
    assert f"delete {archive} and download it again" in str(error.value)
    text = write_bytes(tmp_path / "notes.txt", b"hello")
    with pytest.raises(DataError, match=r"notes.txt: neither a folder nor a zip archive"):
        prepare_mot17(text, tmp_path / "dataset", [])


# ---------------------------------------------------------------------------------------------
# Zip bombs and links out of a folder source (issue 20, items 12 and 13)


def deflated_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_zip_bomb_member_is_refused_by_ratio_before_extraction_naming_the_member(tmp_path):
    archive = deflated_zip(tmp_path / "bomb.zip", {"MOT17/notes.txt": b"a" * 500_000, "MOT17/bomb.bin": bytes(20 << 20)})
    with zipfile.ZipFile(archive) as zf:
        packed = zf.getinfo("MOT17/bomb.bin").compress_size
    assert archive.stat().st_size < 100_000  # 20 MiB of zeros in a zip of a few tens of kB
    out = tmp_path / "out"
    with pytest.raises(DataError) as error:
        extract_zip_safely(archive, out)
    assert str(error.value) == (
        f"{archive}: member 'MOT17/bomb.bin' inflates {packed} bytes to 20971520 ({20971520 / packed:.0f}:1), above "
        "data.max_compression_ratio = 200; refusing the archive before extraction (a zip bomb?): raise "
        "data.max_compression_ratio if it is genuine")
    assert not out.exists()
    # a small text file compresses far better than 200:1 and passes; a raised cap lets the big one through
    assert extract_zip_safely(archive, out, include=lambda name: name.endswith(".txt")) == [out / "MOT17/notes.txt"]
    extract_zip_safely(archive, tmp_path / "all", limits=ExtractLimits(max_ratio=5000))
    assert (tmp_path / "all/MOT17/bomb.bin").stat().st_size == 20 << 20


def test_total_extracted_size_above_the_cap_is_refused_naming_the_member_that_crosses_it(tmp_path):
    archive = deflated_zip(tmp_path / "big.zip", {"a.bin": bytes(600), "b.bin": bytes(600)})
    with pytest.raises(DataError) as error:
        extract_zip_safely(archive, tmp_path / "out", limits=ExtractLimits(max_gb=1e-6))
    assert str(error.value) == (
        f"{archive}: member 'b.bin' (600 bytes uncompressed) takes the archive to 1200 bytes, above "
        "data.max_extract_gb = 1e-06 GB; refusing it before extraction: raise data.max_extract_gb if it is genuine")
    assert not (tmp_path / "out").exists()
    # only the members to extract count
    written = extract_zip_safely(archive, tmp_path / "out", include=lambda name: name == "a.bin", limits=ExtractLimits(max_gb=1e-6))
    assert written == [tmp_path / "out/a.bin"]


def test_download_command_reads_the_extraction_cap_from_params(server, tmp_path):
    import yaml
    from typer.testing import CliRunner

    import stages.download  # noqa: F401  (registers the command)
    from stages.app import app

    archive = write_bytes(tmp_path / "MOT17.zip", server.files["/MOT17.zip"])
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"data": {"source": "local", "path": str(archive), "max_extract_gb": 1e-5}}))
    result = CliRunner().invoke(app, ["download", "--params", str(params), "--out", str(tmp_path / "dataset")])
    assert result.exit_code == 1
    assert "above data.max_extract_gb = 1e-05 GB; refusing it before extraction" in result.output
    assert not (tmp_path / "dataset").exists()


def lie_about_size(data: bytes, member: str, size: int) -> bytes:
    """The archive with `member`'s uncompressed size in the central directory replaced by `size`."""
    entry = data.index(b"PK\x01\x02")  # the central directory's first entry; the name starts at byte 46
    while data[entry + 46: entry + 46 + len(member)] != member.encode():
        entry = data.index(b"PK\x01\x02", entry + 4)
    return data[:entry + 24] + size.to_bytes(4, "little") + data[entry + 28:]


def test_zip_whose_header_understates_a_member_writes_no_more_than_declared_and_leaves_nothing(tmp_path):
    body = deflated_zip(tmp_path / "src.zip", {"MOT17/a.txt": b"fine", "MOT17/bomb.bin": bytes(20 << 20)}).read_bytes()
    archive = write_bytes(tmp_path / "liar.zip", lie_about_size(body, "MOT17/bomb.bin", 1000))
    with zipfile.ZipFile(archive) as zf:
        assert zf.getinfo("MOT17/bomb.bin").file_size == 1000  # passes the size and ratio checks
    out = tmp_path / "out"
    with pytest.raises(DataError, match=r"liar.zip: member 'MOT17/bomb.bin' is damaged \(Bad CRC-32"):
        extract_zip_safely(archive, out)
    assert not out.exists()  # MOT17/a.txt, written first, and the cut-off bomb.bin are gone again


def test_member_inflating_past_its_declared_size_is_stopped_while_writing(tmp_path, monkeypatch):
    archive = write_zip(tmp_path / "ok.zip", ["MOT17/a.txt", "MOT17/b.txt"])  # each declares 4 bytes
    (tmp_path / "out").mkdir()
    (tmp_path / "out/keep.txt").write_text("already here")
    real_open = zipfile.ZipFile.open
    # a reader that does not hold a member to its header (CPython's does): 5 MB for b.txt
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, info, *a, **k: io.BytesIO(bytes(5 << 20))
                        if info.filename == "MOT17/b.txt" else real_open(self, info, *a, **k))
    with pytest.raises(DataError) as error:
        extract_zip_safely(archive, tmp_path / "out")
    assert str(error.value) == (f"{archive}: member 'MOT17/b.txt' inflates past the 4 bytes its header declares; "
                                "refusing the archive (nothing of it was kept)")
    assert sorted(p.name for p in (tmp_path / "out").rglob("*")) == ["keep.txt"]  # what was there before stays


@pytest.fixture
def linked_source(tiny_dataset, tmp_path) -> Path:
    """A copy of the tiny dataset as a folder source, with a stand-in for /etc/passwd and a home folder beside it."""
    source = tmp_path / "src"
    shutil.copytree(tiny_dataset, source)
    (tmp_path / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (tmp_path / "home").mkdir()
    (tmp_path / "home/big.bin").write_bytes(bytes(1000))
    return source


@pytest.mark.parametrize("link, target", [("images/train/SYN-01/img1/000099.jpg", "passwd"),
                                          ("images/train/SYN-01/home", "home")])
def test_folder_source_with_a_link_out_of_the_tree_is_refused_before_copying(linked_source, tmp_path, link, target):
    (linked_source / link).symlink_to(tmp_path / target)
    with pytest.raises(DataError) as error:
        prepare_mot17(linked_source, tmp_path / "dataset", [])
    assert str(error.value) == (f"{linked_source / link}: a symbolic link to {(tmp_path / target).resolve()}, outside "
                                f"{linked_source}; copy the file into the dataset instead")
    assert not (tmp_path / "dataset").exists()


def test_folder_source_with_a_link_inside_the_tree_is_copied_as_the_file(linked_source, tmp_path):
    gt = linked_source / "images/train/SYN-01/gt/gt.txt"
    shutil.move(gt, linked_source / "shared-gt.txt")
    gt.symlink_to(Path("../../../../shared-gt.txt"))
    prepare_mot17(linked_source, tmp_path / "dataset", [])
    copied = tmp_path / "dataset/images/train/SYN-01/gt/gt.txt"
    assert not copied.is_symlink() and copied.read_text() == (linked_source / "shared-gt.txt").read_text()
