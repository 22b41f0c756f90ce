"""Loading, decoding and preparing images: the first stage of featcls.

Every loader returns a :class:`Dataset` whose ``X`` is a *sample table* (a DataFrame
with an ``image`` column of paths, :class:`ChannelFiles` or arrays and an optional
``mask`` column); all decoding goes through :func:`read_image`.
"""

from featcls.data._builtin import BUILTIN_DATASETS, load_builtin
from featcls.data._channels import ChannelFiles
from featcls.data._dataset import Dataset
from featcls.data._duplicates import find_duplicates
from featcls.data._elpv import load_elpv
from featcls.data._folder import load_folder, load_images, save_folder
from featcls.data._image import (
    CHANNEL_POLICIES,
    MAX_IMAGE_PIXELS,
    check_image,
    check_scale,
    read_image,
    read_mask,
    split_channels,
    to_float,
)
from featcls.data._manifest import load_manifest
from featcls.data._preprocess import PreparedSample, prepare_image, prepare_sample
from featcls.data._segment import auto_mask
from featcls.data._synthetic import make_synthetic
from featcls.data._table import as_sample_table, select_channels

__all__ = [
    "BUILTIN_DATASETS",
    "CHANNEL_POLICIES",
    "MAX_IMAGE_PIXELS",
    "ChannelFiles",
    "Dataset",
    "PreparedSample",
    "as_sample_table",
    "auto_mask",
    "check_image",
    "check_scale",
    "find_duplicates",
    "load_builtin",
    "load_elpv",
    "load_folder",
    "load_images",
    "load_manifest",
    "make_synthetic",
    "prepare_image",
    "prepare_sample",
    "read_image",
    "read_mask",
    "save_folder",
    "select_channels",
    "split_channels",
    "to_float",
]
