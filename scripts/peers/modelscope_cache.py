"""The real modelscope client (scripts/peers/requirements-modelscope.txt) against Tailor's ModelScope cache, both ways,
on the tests' mock hub (MODELSCOPE_ENDPOINT, MODELSCOPE_CACHE set by modelscope_cache.sh).

  modelscope_cache.py read-tailor SNAPSHOT MODEL_FOLDER   # the client finds Tailor's files offline and online (no refetch)
  modelscope_cache.py download REPO                       # the client downloads; prints its snapshot folder
"""
import filecmp
import hashlib
import os
import sys

from modelscope import snapshot_download


def lock_name(repo, path):
    key = "\0".join(("modelscope-hub-download-lock-v2", "file", "model", repo, path))
    return "file_" + hashlib.sha256(key.encode()).hexdigest() + ".lock"


def files(folder):
    found = []
    for root, _, names in os.walk(folder):
        for name in names:
            found.append(os.path.relpath(os.path.join(root, name), folder))
    return sorted(found)


def read_tailor(snapshot, model, repo="tiny-org/chat-llama"):
    offline = snapshot_download(repo, local_files_only=True)
    assert os.path.realpath(offline) == os.path.realpath(snapshot), (offline, snapshot)
    wanted = files(model)
    assert files(offline) == wanted, (files(offline), wanted)
    for path in wanted:
        assert filecmp.cmp(os.path.join(offline, path), os.path.join(model, path), shallow=False), path
    locks = set(os.listdir(os.path.join(os.environ["MODELSCOPE_CACHE"], ".lock")))
    assert locks == {lock_name(repo, p) for p in wanted}, (sorted(locks), wanted)
    print(f"modelscope snapshot_download(local_files_only=True): {offline}, {len(wanted)} files equal to the model's, "
          f"and Tailor's {len(locks)} lock files have the client's names")
    online = snapshot_download(repo)
    assert os.path.realpath(online) == os.path.realpath(snapshot), (online, snapshot)
    print(f"modelscope snapshot_download (online): {online}, the same folder")


def download(repo):
    print(snapshot_download(repo))


if __name__ == "__main__":
    if sys.argv[1] == "read-tailor":
        read_tailor(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "download":
        download(sys.argv[2])
    else:
        sys.exit(__doc__)
