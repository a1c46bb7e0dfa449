"""huggingface_hub's side of scripts/peers/hub_cache.sh.

    hub_cache.py read-tailor SNAPSHOT_FOLDER MODEL_FOLDER [PRIVATE_REPO]   # offline: scan_cache_dir, snapshot_download, from_pretrained
    hub_cache.py download REPO                              # online (HF_ENDPOINT): snapshot_download, prints the folder
"""
import os
import sys

import huggingface_hub
from huggingface_hub import hf_hub_download, scan_cache_dir, snapshot_download


def read_tailor(snapshot, model_folder, private=None):
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    info = scan_cache_dir()
    assert not info.warnings, f"scan_cache_dir warnings: {info.warnings}"
    repos = {r.repo_id: r for r in info.repos}
    repo = repos["tiny-org/chat-llama"]
    assert repo.repo_type == "model"
    revision = next(iter(repo.revisions))
    assert revision.refs == frozenset({"main"}), revision.refs
    assert str(revision.snapshot_path) == snapshot, (revision.snapshot_path, snapshot)
    names = sorted(f.file_name for f in revision.files)
    expected = sorted(os.listdir(model_folder))
    assert names == expected, (names, expected)
    for f in revision.files:
        with open(f.blob_path, "rb") as a, open(os.path.join(model_folder, f.file_name), "rb") as b:
            assert a.read() == b.read(), f.file_name
    print(f"scan_cache_dir: {len(info.repos)} repos, {repo.nb_files} files of tiny-org/chat-llama, {repo.size_on_disk} bytes, refs main -> {revision.commit_hash}, no warnings")
    path = snapshot_download("tiny-org/chat-llama", local_files_only=True)
    assert path == snapshot, (path, snapshot)
    print(f"snapshot_download(local_files_only=True): {path}")
    config = hf_hub_download("tiny-org/chat-llama", "config.json", local_files_only=True)
    assert config == os.path.join(snapshot, "config.json")
    print(f"hf_hub_download(config.json, local_files_only=True): {config}")
    if private:
        path = snapshot_download(private, local_files_only=True)
        print(f"snapshot_download({private!r} (private, fetched by tailor with HF_TOKEN), local_files_only=True): {path}")
    hub_model = AutoModelForCausalLM.from_pretrained("tiny-org/chat-llama", local_files_only=True)
    local_model = AutoModelForCausalLM.from_pretrained(model_folder)
    tokenizer = AutoTokenizer.from_pretrained("tiny-org/chat-llama", local_files_only=True)
    ids = tokenizer("hello world", return_tensors="pt").input_ids
    with torch.no_grad():
        delta = (hub_model(ids).logits - local_model(ids).logits).abs().max().item()
    assert delta == 0, delta
    print(f"AutoModelForCausalLM/AutoTokenizer.from_pretrained('tiny-org/chat-llama', local_files_only=True): loaded, logits equal the fixture folder's (max |d| {delta})")
    print(f"huggingface_hub {huggingface_hub.__version__}, transformers {transformers.__version__}")


def download(repo):
    print(snapshot_download(repo))


if __name__ == "__main__":
    if sys.argv[1] == "read-tailor":
        read_tailor(*sys.argv[2:5])
    elif sys.argv[1] == "download":
        download(sys.argv[2])
    else:
        sys.exit(__doc__)
