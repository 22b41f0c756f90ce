"""Hostile inputs, in one place: each module generates its corpus of bad inputs
(crafted model files, broken images, odd manifests, bad command lines) in
``tmp_path`` and checks that featcls refuses, skips or handles each one as the
README's guarantees say. Nothing here is a committed binary."""
