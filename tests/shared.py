"""The documents written by others that the project proves itself on, in
`../shared` beside the checkout (`shared/fixtures/...`). A test that reads
them skips when the folder is absent (a checkout without it).

In a git worktree, `../shared` is looked for beside the main checkout too;
SHARED_DIR overrides both."""
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def shared_dir():
    """The shared folder, or None."""
    candidates = [Path(os.environ["SHARED_DIR"])] if os.environ.get("SHARED_DIR") else []
    candidates.append(ROOT.parent / "shared")
    dot_git = ROOT / ".git"
    if dot_git.is_file():  # a worktree: "gitdir: <main checkout>/.git/worktrees/<name>"
        gitdir = Path(dot_git.read_text().partition("gitdir:")[2].strip())
        if gitdir.parent.name == "worktrees":
            candidates.append(gitdir.parent.parent.parent.parent / "shared")
    return next((path for path in candidates if path.is_dir()), None)


def shared_file(*parts):
    """The path of a shared file; skips the test when it is not there."""
    folder = shared_dir()
    path = folder.joinpath(*parts) if folder else None
    if path is None or not path.is_file():
        pytest.skip(f"shared/{'/'.join(parts)} is not beside this checkout")
    return path
