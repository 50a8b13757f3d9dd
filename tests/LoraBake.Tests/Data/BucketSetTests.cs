using LoraBake.Data;

namespace LoraBake.Tests.Data;

public class BucketSetTests
{
    // make_bucket_resolutions(512², min 256, max 1024, step 64), max_area = 262144, by hand:
    //   square: floor(√262144 / 64)·64 = 512 → (512,512)
    //   w=256: 262144//256=1024 → 1024//64·64=1024 → (256,1024)+(1024,256)
    //   w=320: 819 → 768 → (320,768)+T      w=384: 682 → 640 → (384,640)+T
    //   w=448: 585 → 576 → (448,576)+T      w=512: 512 → (512,512)
    //   w=576: 455 → 448 (dup)   w=640: 409 → 384 (dup)   w=704: 372 → 320 → (704,320)+T
    //   w=768: 341 → 320 (dup)   w=832: 315 → 256 → (832,256)+T   w=896: 292 → 256 → (896,256)+T
    //   w=960: 273 → 256 → (960,256)+T      w=1024: 256 → 256 (dup)
    //   → 17 buckets, sorted as Python sorts tuples.
    private static readonly string[] Expected512 =
    [
        "256x832", "256x896", "256x960", "256x1024", "320x704", "320x768", "384x640", "448x576", "512x512",
        "576x448", "640x384", "704x320", "768x320", "832x256", "896x256", "960x256", "1024x256",
    ];

    // 768², min 320, max 1280: max_area 589824, square 768; w=320: 1843→1792→min 1280 → (320,1280)
    //   w=384: 1536→1280 (min)   w=448: 1316→1280   w=512: 1152→1152   w=576: 1024→1024   w=640: 921→896
    //   w=704: 837→832   w=768: 768   w=832: 708→704 (dup)   w=896: 658→640 (dup)   w=960: 614→576 → (960,576) new
    //   w=1024: 576→576 (dup)   w=1088: 542→512 → (1088,512) new   w=1152: 512 (dup)   w=1216: 485→448 → (1216,448) new
    //   w=1280: 460→448 (dup) → 1 + 10 pairs = 21.
    private static readonly string[] Expected768 =
    [
        "320x1280", "384x1280", "448x1216", "448x1280", "512x1088", "512x1152", "576x960", "576x1024", "640x896", "704x832",
        "768x768", "832x704", "896x640", "960x576", "1024x576", "1088x512", "1152x512", "1216x448", "1280x320", "1280x384", "1280x448",
    ];

    [Fact]
    public void Bucket_sets_match_kohya()
    {
        Assert.Equal(Expected512, BucketSet.Make(512, 256, 1024, 64).Buckets.Select(b => b.ToString()));
        Assert.Equal(Expected768, BucketSet.Make(768, 320, 1280, 64).Buckets.Select(b => b.ToString()));
    }

    // Bucket ARs for 512: 0.308 0.286 0.267 0.25 0.455 0.417 0.6 0.778 1 1.286 1.667 2.2 2.4 3.25 3.5 3.75 4.
    [Theory]
    // 1024×768 (AR 1.333): nearest 1.286 → 576×448; AR > bucket AR → s = 448/768; w = int(597.33+0.5) = 597; crop (597−576)//2 = 10
    [InlineData(1024, 768, 576, 448, 597, 448, 10, 0)]
    // 768×1024 (AR 0.75): nearest 0.778 → 448×576; AR < bucket AR → s = 448/768; h = 597; crop top 10
    [InlineData(768, 1024, 448, 576, 448, 597, 0, 10)]
    // an exact bucket is used as is
    [InlineData(512, 512, 512, 512, 512, 512, 0, 0)]
    [InlineData(640, 384, 640, 384, 640, 384, 0, 0)]
    // 300×300 upscales: s = 512/300, int(512.0+0.5) = 512
    [InlineData(300, 300, 512, 512, 512, 512, 0, 0)]
    // 2000×500 (AR 4) = 1024×256 exactly; s = 1024/2000 → 1024×256
    [InlineData(2000, 500, 1024, 256, 1024, 256, 0, 0)]
    // 1200×520 (AR 2.308): |2.2−2.308| = 0.108 > |2.4−2.308| = 0.092 → 768×320; s = 768/1200 = 0.64; h = int(332.8+0.5) = 333; top (333−320)//2 = 6
    [InlineData(1200, 520, 768, 320, 768, 333, 0, 6)]
    // 1000×600 (AR 5/3) = 640×384's AR; s = 0.64 → 640×384
    [InlineData(1000, 600, 640, 384, 640, 384, 0, 0)]
    public void Assignment_matches_kohya(int w, int h, int bw, int bh, int rw, int rh, int left, int top)
    {
        var a = BucketSet.Make(512, 256, 1024, 64).Assign(w, h);
        Assert.Equal(new Size2(bw, bh), a.Bucket);
        Assert.Equal(new Size2(rw, rh), a.Resized);
        Assert.Equal((left, top), (a.CropLeft, a.CropTop));
    }

    [Theory]
    // 1024×768 > 512²: rw = √(262144·4/3) = 591.2, rh = 443.4; width-first: 576 × round_to_steps(432) = 384 → AR 1.5;
    // height-first: 384 and round_to_steps(512) = 512 → AR 1.333 (exact) → resized (int(384·4/3+0.5), 384) = 512×384; bucket 512×384
    [InlineData(1024, 768, 512, 384, 512, 384, 0, 0)]
    // small images keep their size; bucket = floor to 64: 300×200 → 256×192, crop (44//2, 8//2)
    [InlineData(300, 200, 256, 192, 300, 200, 22, 4)]
    public void No_upscale_matches_kohya(int w, int h, int bw, int bh, int rw, int rh, int left, int top)
    {
        var a = BucketSet.Make(512, 256, 1024, 64, noUpscale: true).Assign(w, h);
        Assert.Equal(new Size2(bw, bh), a.Bucket);
        Assert.Equal(new Size2(rw, rh), a.Resized);
        Assert.Equal((left, top), (a.CropLeft, a.CropTop));
    }

    [Fact]
    public void Resolution_outside_min_max_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => BucketSet.Make(512, 640, 1024, 64));
    }
}
