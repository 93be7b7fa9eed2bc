"""Data layers: where a net's batch comes from.

Caffe learns most input shapes from the data itself (the first Datum, the first image), which
caffemem never reads. So the shape comes, in order, from ``--input TOP=C,H,W``, from what the
prototxt says (crop size, new_height/new_width, explicit shapes), and otherwise from a stated
assumption that is reported as a warning. ``--batch N`` replaces every data layer's batch size.

The forks' data layers (SSD, SegNet, DeepLab, OpenPose) are built on an older
``BasePrefetchingDataLayer`` that copies each batch into the tops: see :class:`ForkPrefetchingDataLayer`.
"""

from __future__ import annotations

from typing import ClassVar

from caffemem.layers.python_layers import known_rule
from caffemem.layers.registry import Buffer, Layer, RunInfo, Shape, count, legacy, register
from caffemem.proto import caffe_pb2

# eric612/MobileNet-YOLO's segmentation fields: any of them set marks its three-top AnnotatedData.
_YOLO_SEG_FIELDS = ("single_class", "seg_scales", "seg_resize_width", "seg_resize_height")
# What common example datasets hold, recognised by the source path (an assumption, reported).
_KNOWN_SOURCES = (("mnist", (1, 28, 28)), ("cifar", (3, 32, 32)))
_DEFAULT_IMAGE = (3, 256, 256)


class DataLayerBase(Layer):
    """Shared batch/shape rules of data layers; subclasses say what the prototxt tells them."""

    is_data = True
    exact_bottoms = 0

    def batch_size(self, declared: int) -> int:
        return self.ctx.batch_or(declared)

    def user_sample_shape(self, top_index: int = 0) -> Shape | None:
        if top_index < len(self.param.top):
            return self.ctx.options.inputs.get(self.param.top[top_index])
        return None

    def assume(self, shape: Shape, why: str) -> Shape:
        top = self.param.top[0] if self.param.top else self.name
        self.ctx.assumed_tops.setdefault(top, shape)
        dims = ",".join(str(d) for d in shape)
        self.ctx.assume(f"layer '{self.name}' ({self.type}): {why}; assuming {dims} per sample "
                      f"(give --input {top}=C,H,W)")
        return shape

    def image_shape(self, channels: int | None, height: int, width: int, source: str) -> Shape:
        """Per-sample shape after Caffe's DataTransformer: crop_size wins over the stored size."""
        user = self.user_sample_shape()
        if user is not None:
            return user
        crop = self.param.transform_param.crop_size
        if channels is None:
            for key, shape in _KNOWN_SOURCES:
                if key in source.lower():
                    channels, height, width = shape if not (height and width) else (shape[0], height, width)
                    top = self.param.top[0] if self.param.top else self.name
                    self.ctx.assume(f"layer '{self.name}' ({self.type}): per-sample shape taken from the "
                                    f"dataset its source names ({key}): {channels}x{height}x{width} "
                                    f"(give --input {top}=C,H,W if it holds other samples)")
                    break
        if crop:
            height = width = crop
        if channels is None or not height or not width:
            c = channels if channels is not None else _DEFAULT_IMAGE[0]
            h = height or _DEFAULT_IMAGE[1]
            w = width or _DEFAULT_IMAGE[2]
            return self.assume((c, h, w), "the sample shape is in the data, which caffemem does not read")
        return (channels, height, width)

    def two_tops(self, batch: int, sample: Shape) -> list[Shape | None]:
        tops: list[Shape | None] = [(batch, *sample)]
        if self.n_tops > 1:
            tops.append((batch,))
        return tops


class PrefetchingDataLayer(DataLayerBase):
    """Data, ImageData, WindowData: a reader thread fills ``prefetch`` batches; tops alias them."""

    tops_own_data = False

    def prefetch_batches(self) -> int:
        # Read through data_param even for ImageData/WindowData (base_data_layer.cpp).
        return self.param.data_param.prefetch

    def prefetch_elements(self, tops: list[Shape]) -> int:
        return sum(count(t) for t in tops)


@register("Data")
class DataLayer(PrefetchingDataLayer):
    min_tops = 1
    max_tops = 2

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        """[estimate] Database pages the reader maps while filling the queue.

        LMDB memory-maps its file; the pages of the records read so far count in the process's RSS.
        The reader runs ahead by the prefetch queue, so about (prefetch + 1) batches of stored
        records (uint8 pixels: a quarter of the float top's bytes) are resident.
        """
        batches = self.prefetch_batches() + 1
        return [Buffer("db_pages", batches * count(tops[0]) // 4, "setup", category="prefetch")]

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        dp = self.param.data_param
        return self.two_tops(self.batch_size(dp.batch_size), self.image_shape(None, 0, 0, dp.source))


@register("ImageData")
class ImageDataLayer(PrefetchingDataLayer):
    exact_tops = 2

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        ip = self.param.image_data_param
        channels = 3 if ip.is_color else 1
        sample = self.image_shape(channels, ip.new_height, ip.new_width, ip.source)
        return self.two_tops(self.batch_size(ip.batch_size), sample)


@register("WindowData")
class WindowDataLayer(PrefetchingDataLayer):
    exact_tops = 2

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        wp = self.param.window_data_param
        crop = self.param.transform_param.crop_size
        if crop <= 0 and self.user_sample_shape() is None:
            raise self.fail("crop_size must be positive for WindowData")
        sample = self.image_shape(3, crop, crop, wp.source)
        return self.two_tops(self.batch_size(wp.batch_size), sample)


@register("MemoryData")
class MemoryDataLayer(DataLayerBase):
    exact_tops = 2

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        mp = self.param.memory_data_param
        sample = self.user_sample_shape() or (mp.channels, mp.height, mp.width)
        return self.two_tops(self.batch_size(mp.batch_size), sample)

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        return [Buffer("added_data_and_label", sum(count(t) for t in tops), "setup")]


@register("HDF5Data")
class HDF5DataLayer(DataLayerBase):
    min_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        batch = self.batch_size(self.param.hdf5_data_param.batch_size)
        tops: list[Shape | None] = []
        for i in range(self.n_tops):
            user = self.user_sample_shape(i)
            tops.append((batch, *user) if user is not None else None)
        return tops

    def unknown_reason(self) -> str:
        missing = [t for t in self.param.top if t not in self.ctx.options.inputs]
        return ("HDF5 dataset shapes are in the data file, which caffemem does not read; give "
                + " ".join(f"--input {t}=DIMS" for t in missing))


@register("DummyData")
class DummyDataLayer(DataLayerBase):
    min_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        dp = self.param.dummy_data_param
        n = self.n_tops
        legacy = bool(dp.num or dp.channels or dp.height or dp.width)
        if legacy and dp.shape:
            raise self.fail("both shape and num/channels/height/width given")
        tops: list[Shape | None] = []
        for i in range(n):
            if dp.shape:
                if len(dp.shape) not in (1, n):
                    raise self.fail("shape must be specified once, or once per top")
                shape: Shape = tuple(dp.shape[0 if len(dp.shape) == 1 else i].dim)
            else:
                def pick(values: list[int], i: int = i) -> int:
                    if len(values) not in (1, n):
                        raise self.fail("num/channels/height/width must be specified once, or once per top")
                    return values[0 if len(values) == 1 else i]
                shape = (pick(list(dp.num)), pick(list(dp.channels)), pick(list(dp.height)),
                         pick(list(dp.width)))
            tops.append(self.override(i, shape))
        return tops

    def override(self, i: int, shape: Shape) -> Shape:
        user = self.user_sample_shape(i)
        if user is not None:
            return (self.ctx.batch_or(shape[0] if shape else 1), *user)
        if shape:
            batch = self.ctx.batch_or(shape[0])
            if self.ctx.options.batch is not None:
                return (batch, *shape[1:])
        return shape


@register("Input")
class InputLayer(DummyDataLayer):
    """Deploy nets' inputs; also what legacy ``input:``/``input_dim`` fields become."""

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        ip = self.param.input_param
        n = self.n_tops
        if ip.shape and len(ip.shape) not in (1, n):
            raise self.fail("input_param shape must be specified once, or once per top")
        tops: list[Shape | None] = []
        for i in range(n):
            if ip.shape:
                shape: Shape = tuple(ip.shape[0 if len(ip.shape) == 1 else i].dim)
            else:
                shape = ()
                if self.user_sample_shape(i) is None:
                    self.ctx.warn(f"layer '{self.name}' (Input): top '{self.param.top[i]}' has no shape; "
                                  "Caffe leaves it empty until the caller reshapes it")
                    tops.append(None)
                    continue
            tops.append(self.override(i, shape))
        return tops

    def unknown_reason(self) -> str:
        return "Input layer without a shape; give --input TOP=C,H,W and --batch N"


@register("Python")
class PythonLayer(Layer):
    """A layer written in Python: never imported or run. Its tops need shapes from the user."""

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        users = [self.ctx.options.inputs.get(top) for top in self.param.top]
        rule = known_rule(self.param.python_param.module, self.param.python_param.layer)
        known: list[Shape | None] = []
        if rule is not None and not all(u is not None for u in users):
            known = rule(self, bottoms)
        tops: list[Shape | None] = []
        for k, user in enumerate(users):
            if user is None:
                tops.append(known[k] if k < len(known) else None)
                continue
            tops.append((self.ctx.batch_or(bottoms[0][0] if bottoms and bottoms[0] else 1), *user))
        return tops

    @property
    def module_and_layer(self) -> str:
        pp = self.param.python_param
        return f"{pp.module}.{pp.layer}"

    def unknown_reason(self) -> str:
        return (f"Python layer {self.module_and_layer} is never imported or run; give its top shapes with "
                + " ".join(f"--input {t}=DIMS" for t in self.param.top))


# --- data layers of forks built on an older BasePrefetchingDataLayer ------------------------------

class ForkPrefetchingDataLayer(PrefetchingDataLayer):
    """Fork data layers built on an older ``BasePrefetchingDataLayer``.

    Unlike BVLC master (whose tops alias the prefetch batches), every one of these forks' Forward
    ``caffe_copy``s the batch into the tops, so the tops own their data; and the number of batches
    is the fork's fixed ``PREFETCH_COUNT`` (``include/caffe/layers/base_data_layer.hpp``), not
    ``data_param.prefetch``. Each batch holds every top's worth of data.
    """

    tops_own_data = True
    #: Batches the fork's prefetch queue holds.
    prefetch_count: ClassVar[int] = 3

    def prefetch_batches(self) -> int:
        return self.prefetch_count

    def sized_sample(self, channels: int, height: int, width: int) -> tuple[int, ...]:
        """Per-sample (C, H, W): the user's ``--input`` first, else the given size, else an assumption."""
        user = self.user_sample_shape()
        if user is not None:
            return user
        if height and width:
            return (channels, height, width)
        return self.assume((channels, 256, 256), "the image size is in the data, which caffemem does not "
                                                 "read")


@register("AnnotatedData")
class AnnotatedDataLayer(ForkPrefetchingDataLayer):
    """SSD's images with boxes. Data: [batch, C, H, W] with H, W from ``resize_param`` (then crop);
    label: [1, 1, boxes, 8] where ``boxes`` is the box count of the first record (at least 1), which
    caffemem cannot read: it takes 1, what Caffe logs for a single-object first image.

    Memory: SSD's ``base_data_layer.hpp`` fixes ``PREFETCH_COUNT = 3`` and its Forward copies each
    batch into the tops (``base_data_layer.cpp``/``.cu``). The label blobs grow with the boxes of each
    batch (a few hundred values), which is left out.
    """

    min_tops = 1
    max_tops = 3

    def check_counts(self, n_bottoms: int, n_tops: int) -> None:
        super().check_counts(n_bottoms, n_tops)
        ap = self.param.annotated_data_param
        if n_tops == 3 and not any(ap.HasField(f) for f in _YOLO_SEG_FIELDS):
            self.choose_variant("SSD+mask variant (three tops: image, boxes, mask)")

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        tp = self.param.transform_param
        batch = self.batch_size(self.param.data_param.batch_size)
        rp = tp.resize_param
        resize_mode = caffe_pb2.ResizeParameter
        if tp.HasField("resize_param") and rp.resize_mode == resize_mode.FIT_SMALL_SIZE and batch != 1:
            raise self.fail("only batch size 1 is supported with resize_mode FIT_SMALL_SIZE")
        height = width = 0
        if tp.HasField("resize_param") and rp.resize_mode != resize_mode.FIT_SMALL_SIZE:
            height, width = rp.height, rp.width
        crop_h, crop_w = (tp.crop_size, tp.crop_size) if tp.crop_size else (tp.crop_h, tp.crop_w)
        height, width = crop_h or height, crop_w or width
        sample = self.sized_sample(3, height, width)
        tops: list[Shape | None] = [(batch, *sample)]
        if self.n_tops > 1:
            if self.param.annotated_data_param.yolo_data_type == 1:
                # eric612/MobileNet-YOLO's darknet-style labels: up to 300 [class, x, y, w, h] boxes a
                # sample, the batch first (annotated_data_layer.cpp), which its Yolov3 loss reads.
                tops.append((batch, 1, 300, 5))
            else:
                tops.append((1, 1, 1, 8))
        ap = self.param.annotated_data_param
        if self.n_tops > 2 and any(ap.HasField(f) for f in _YOLO_SEG_FIELDS):
            self.choose_variant("MobileNet-YOLO segmentation variant (third top: segmentation labels)")
            # annotated_data_layer.cpp: [batch, classes (1 with single_class), H/seg_scales,
            # W/seg_scales], or the fork's seg_resize_width then seg_resize_height (in that order).
            classes = 1 if ap.single_class else None
            if classes is None:
                user = self.user_sample_shape(2)
                if user is None:
                    raise self.fail("single_class: false takes the class count from the label map file, which "
                                    f"caffemem does not read: give --input {self.param.top[2]}=C,H,W")
                tops.append((batch, *user))
                return tops
            if ap.seg_resize_width and ap.seg_resize_height:
                tops.append((batch, classes, ap.seg_resize_width, ap.seg_resize_height))
            else:
                scale = ap.seg_scales or 1
                tops.append((batch, classes, sample[1] // scale, sample[2] // scale))
            return tops
        if self.n_tops > 2:
            # The mask top of the SSD+mask ports: its shape is in the data; one mask plane per image
            # at the image's size is assumed unless --input gives it.
            mask = self.user_sample_shape(2)
            if mask is None:
                mask = (1, *sample[1:])
                dims = ",".join(str(d) for d in mask)
                self.ctx.assume(f"layer '{self.name}' ({self.type}): the mask's shape is in the data; assuming "
                                f"{dims} per sample (give --input {self.param.top[2]}=C,H,W)")
            tops.append((batch, *mask))
        return tops


@register("DenseImageData")
class DenseImageDataLayer(ForkPrefetchingDataLayer):
    """SegNet's image + label-image reader: [batch, C, H, W] and [batch, 1, H, W].

    Memory: SegNet's ``BasePrefetchingDataLayer`` predates the prefetch queue: one host batch
    (``prefetch_data_``, ``prefetch_label_``) filled by a thread that is joined each forward, and
    copied into the tops (``base_data_layer.cpp``/``.cu``).
    """

    exact_tops = 2
    prefetch_count = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        dp = self.param.dense_image_data_param
        if (dp.new_height > 0) != (dp.new_width > 0) or (dp.crop_height > 0) != (dp.crop_width > 0):
            raise self.fail("new_height/new_width and crop_height/crop_width must be set together")
        crop = self.param.transform_param.crop_size
        if crop > 0:
            h, w = crop, crop
        elif dp.crop_height > 0:
            h, w = dp.crop_height, dp.crop_width
        else:
            h, w = dp.new_height, dp.new_width
        sample = self.sized_sample(3 if dp.is_color else 1, h, w)
        batch = self.batch_size(dp.batch_size)
        return [(batch, *sample), (batch, 1, *sample[1:])]


@register("ImageSegData")
class ImageSegDataLayer(ForkPrefetchingDataLayer):
    """DeepLab's image + segmentation reader (via ``image_data_param``): image, label and a
    [batch, 1, 1, 2] size blob. It declares three tops and makes the missing ones anonymous.

    Memory follows PSPNet's version: ``PREFETCH_COUNT = 5`` batches of image, label and size (its
    ``ImageDimPrefetchingDataLayer`` touches all three at set-up), copied into the tops each forward
    (``base_data_layer.cpp``/``.cu``). LSTM-CF's DeepLab-v1 copy keeps a single batch instead.
    """

    exact_tops = 3
    prefetch_count = 5
    auto_top_blobs = True

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        ip = self.param.image_data_param
        if (ip.new_height > 0) != (ip.new_width > 0):
            raise self.fail("new_height and new_width must be set together")
        if self.param.transform_param.HasField("mean_file"):
            raise self.fail("ImageSegData does not support mean_file")
        crop = self.param.transform_param.crop_size
        h, w = (crop, crop) if crop > 0 else (ip.new_height, ip.new_width)
        sample = self.sized_sample(3 if ip.is_color else 1, h, w)
        batch = self.batch_size(ip.batch_size)
        return [(batch, *sample), (batch, 1, *sample[1:]), (batch, 1, 1, 2)]


@register("CPMData")
class CPMDataLayer(ForkPrefetchingDataLayer):
    """OpenPose training data: 6-channel records (image, centre map, masks; the transformer CHECKs
    6) cropped to crop_size_y x crop_size_x in TRAIN, and label maps of 2*(num_parts+1) channels at
    1/stride resolution. Outside TRAIN the record's own size is used, which caffemem assumes is
    the crop size.

    Memory: caffe_train's ``base_data_layer.hpp`` fixes ``PREFETCH_COUNT = 3``, and its Forward
    copies each batch into the tops.
    """

    min_tops = 1
    max_tops = 2

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        cp = self.param.cpm_transform_param
        batch = self.batch_size(self.param.data_param.batch_size)
        user = self.user_sample_shape()
        if user is not None:
            sample: tuple[int, ...] = user
        else:
            sample = (6, cp.crop_size_y, cp.crop_size_x)
            if self.ctx.phase != caffe_pb2.TRAIN:
                self.assume(sample, "outside TRAIN the record's own size is used")
        h, w = legacy(sample, 1), legacy(sample, 2)
        tops: list[Shape | None] = [(batch, *sample)]
        if self.n_tops > 1:
            tops.append((batch, 2 * (cp.num_parts + 1), h // cp.stride, w // cp.stride))
        return tops



@register("VideoData")
class VideoDataLayer(PrefetchingDataLayer):
    """C3D's clip reader (facebookarchive/C3D ``video_data_layer.cpp``): clips [batch, C, length, H, W]
    and labels. The parameter message present picks the variant:

    - ``video_data_param`` (C3D v1.1): BVLC's prefetching base (``data_param.prefetch`` batches that
      the tops alias); H, W the crop (``transform_param.crop_size``) or new_height/new_width;
      labels [batch] ([batch, num_of_labels] with ``use_multiple_label``);
    - ``image_data_param`` (C3D v1.0, ``type: VIDEO_DATA``): one host batch copied into the tops
      each forward; crop from ``image_data_param.crop_size``; labels [batch, 1, 1, 1, 1].

    Channels are the frames' (3 assumed, as the C3D models are trained on RGB frames), and the frame
    size is in the data when neither crop nor resize is given: ``--input TOP=C,L,H,W`` says it.
    """

    min_tops = 1
    max_tops = 2

    @property
    def v10(self) -> bool:
        return not self.param.HasField("video_data_param") and self.param.HasField("image_data_param")

    @property
    def tops_own_data(self) -> bool:  # type: ignore[override]
        return self.v10

    def prefetch_batches(self) -> int:
        return 1 if self.v10 else super().prefetch_batches()

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        if self.v10:
            self.choose_variant("C3D v1.0 variant (image_data_param)")
            ip = self.param.image_data_param
            batch, length, crop = self.batch_size(ip.batch_size), ip.new_length, ip.crop_size
            h, w = (crop, crop) if crop else (ip.new_height, ip.new_width)
            channels = 3
        else:
            vp = self.param.video_data_param
            batch, length, crop = self.batch_size(vp.batch_size), vp.new_length, self.param.transform_param.crop_size
            h, w = (crop, crop) if crop else (vp.new_height, vp.new_width)
            channels = 3 if vp.is_color else 1
        if length <= 0:
            raise self.fail("new_length (frames per clip) must be positive")
        sample = self.user_sample_shape()
        if sample is None:
            sample = (channels, length, h or 112, w or 112)
            if not (h and w):
                dims = ",".join(str(d) for d in sample)
                top = self.param.top[0] if self.param.top else self.name
                self.ctx.assume(f"layer '{self.name}' ({self.type}): the frame size is in the data, which "
                                f"caffemem does not read; assuming {dims} per sample (give --input {top}=C,L,H,W)")
        tops: list[Shape | None] = [(batch, *sample)]
        if self.n_tops > 1:
            if self.v10:
                tops.append((batch, 1, 1, 1, 1))
            else:
                vp = self.param.video_data_param
                tops.append((batch, vp.num_of_labels) if vp.use_multiple_label else (batch,))
        return tops


@register("ImageLabelmapData")
class ImageLabelmapDataLayer(ForkPrefetchingDataLayer):
    """HED's image + edge-map reader (s9xie/hed ``image_labelmap_data_layer.cpp``), configured by
    ``image_data_param``: images [batch, C, H, W] and grey label maps [batch, 1, H, W] of the same
    size (the fork CHECKs it), resized to new_height/new_width and cropped by ``transform_param``.
    Without either, the size is the first image's. Memory: HED's ``PREFETCH_COUNT = 3`` batches of
    image and label map, copied into the tops each forward.
    """

    exact_tops = 2

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        ip = self.param.image_data_param
        if (ip.new_height > 0) != (ip.new_width > 0):
            raise self.fail("new_height and new_width must be set at the same time")
        crop = self.param.transform_param.crop_size
        h, w = (crop, crop) if crop else (ip.new_height, ip.new_width)
        sample = self.sized_sample(3 if ip.is_color else 1, h, w)
        batch = self.batch_size(ip.batch_size)
        if batch <= 0:
            raise self.fail("Positive batch size required")
        return [(batch, *sample), (batch, 1, *sample[1:])]


@register("BoxData")
class BoxDataLayer(ForkPrefetchingDataLayer):
    """The YOLO ports' image + box reader (caffe-yolo lineage, ``box_data_layer.cpp``): images
    [batch, C, H, W] from the Datum (crop from ``transform_param``) and one label top per
    ``data_param.side`` (7 when none is given; the fork CHECKs one per extra top), each
    [batch, 150]: 30 boxes x (class, x, y, w, h), the YOLOv2 ports' layout. Memory: the fork's
    ``PREFETCH_COUNT`` (3) batches of images and every label blob, copied into the tops.
    """

    min_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        dp = self.param.data_param
        batch = self.batch_size(dp.batch_size)
        crop = self.param.transform_param.crop_size
        sample = self.sized_sample(3, crop, crop)
        sides = list(dp.side) or [7]
        if self.n_tops > 1 and len(sides) != self.n_tops - 1:
            raise self.fail(f"side num not equal to top size ({len(sides)} sides, {self.n_tops} tops)")
        tops: list[Shape | None] = [(batch, *sample)]
        for i in range(1, self.n_tops):
            tops.append((batch, *(self.user_sample_shape(i) or (30 * 5,))))
        return tops


#: Label channels of OpenPose's COCO model (18 parts + background + 38 PAF channels, each with its
#: mask channel): ``OPDataTransformer::getNumberChannels`` for the default ``models: "COCO"``.
OPENPOSE_COCO_LABEL_CHANNELS = 2 * (18 + 1 + 38)


@register("OPData")
class OPDataLayer(PrefetchingDataLayer):
    """OpenPose training data (CMU-Perceptual-Computing-Lab/openpose_caffe_train
    ``src/caffe/openpose/layers/oPDataLayer.cpp``): images [batch, 3, crop_size_y, crop_size_x] in
    TRAIN (outside TRAIN the record's own size, assumed to be the crop) and labels
    [batch, channels, H / stride, W / stride]. The label channels come from the pose model's tables
    (``getNumberChannels``): :data:`OPENPOSE_COCO_LABEL_CHANNELS` for plain COCO; for any other model,
    distance or TAF channels the count is assumed unless ``--input`` gives it. Built on BVLC's
    prefetching base: ``data_param.prefetch`` batches that the tops alias.
    """

    min_tops = 1
    max_tops = 2

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        op = self.param.op_transform_param
        batch = self.batch_size(self.param.data_param.batch_size)
        if op.stride <= 0:
            raise self.fail("op_transform_param.stride must be positive")
        user = self.user_sample_shape()
        if user is not None:
            sample: tuple[int, ...] = user
        else:
            sample = (3, op.crop_size_y, op.crop_size_x)
            if self.ctx.phase != caffe_pb2.TRAIN:
                self.assume(sample, "outside TRAIN the record's own size is used")
        h, w = legacy(sample, 1), legacy(sample, 2)
        tops: list[Shape | None] = [(batch, *sample)]
        if self.n_tops > 1:
            label = self.user_sample_shape(1)
            if label is None:
                channels = OPENPOSE_COCO_LABEL_CHANNELS
                label = (channels, h // op.stride, w // op.stride)
                plain_coco = (op.models == "COCO" and not op.add_distance and not op.taf_topology
                              and op.input_type in ("", "image"))
                if not plain_coco:
                    dims = ",".join(str(d) for d in label)
                    self.ctx.assume(f"layer '{self.name}' ({self.type}): the label channels of pose model "
                                    f"'{op.models}' are in OpenPose's tables; assuming {dims} per sample "
                                    f"(give --input {self.param.top[1]}=C,H,W)")
            tops.append((batch, *label))
        return tops
