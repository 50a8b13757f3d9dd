using LoraBake.Models.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraBake.Tests.Models.Checkpoints;

/// <summary>tiny_a has two UNet levels; these check the four-level SD 1.5 layout (upsamplers after attention,
/// downsamplers of attention levels) on meta tensors, which cost no memory.</summary>
public class FullSizeLayoutTests
{
    static Dictionary<string, Tensor> Meta(IEnumerable<KeyValuePair<string, long[]>> shapes, string prefix) =>
        shapes.Where(kv => kv.Key.StartsWith(prefix)).ToDictionary(kv => kv.Key[prefix.Length..], kv => empty(kv.Value, device: new Device(DeviceType.META)));

    [Fact]
    public void Sd15_reference_shapes_have_the_published_parameter_counts()
    {
        var s = Sd15ReferenceShapes.Sd15();
        long Sum(string p) => s.Where(kv => kv.Key.StartsWith(p)).Sum(kv => kv.Value.Aggregate(1L, (a, b) => a * b));
        Assert.Equal(859_520_964L, Sum(Sd1Checkpoint.UnetPrefix));
        Assert.Equal(123_060_480L, Sum(Sd1Checkpoint.TextPrefix));
        Assert.Equal(83_653_863L, Sum(Sd1Checkpoint.VaePrefix));
        Assert.Equal(ModelFamily.Sd1, FamilyDetection.Detect(s.Keys).Family);
    }

    [Theory]
    [InlineData("input_blocks.3.0.op.weight", "down_blocks.0.downsamplers.0.conv.weight")]
    [InlineData("input_blocks.9.0.op.bias", "down_blocks.2.downsamplers.0.conv.bias")]
    [InlineData("input_blocks.8.1.proj_in.weight", "down_blocks.2.attentions.1.proj_in.weight")]
    [InlineData("input_blocks.11.0.out_layers.3.weight", "down_blocks.3.resnets.1.conv2.weight")]
    [InlineData("output_blocks.2.1.conv.weight", "up_blocks.0.upsamplers.0.conv.weight")]
    [InlineData("output_blocks.5.2.conv.weight", "up_blocks.1.upsamplers.0.conv.weight")]
    [InlineData("output_blocks.8.2.conv.bias", "up_blocks.2.upsamplers.0.conv.bias")]
    [InlineData("output_blocks.11.1.transformer_blocks.0.attn2.to_k.weight", "up_blocks.3.attentions.2.transformer_blocks.0.attn2.to_k.weight")]
    [InlineData("output_blocks.6.0.skip_connection.weight", "up_blocks.2.resnets.0.conv_shortcut.weight")]
    [InlineData("middle_block.2.emb_layers.1.weight", "mid_block.resnets.1.time_emb_proj.weight")]
    public void Sd15_unet_keys_map_as_diffusers_names_them(string ldm, string diffusers)
    {
        var unet = Meta(Sd15ReferenceShapes.Sd15(), Sd1Checkpoint.UnetPrefix);
        var converted = UnetKeyMap.ToDiffusers(unet, "sd15");
        Assert.Same(unet[ldm], converted[diffusers]);
        Assert.Equal(unet.Count, converted.Count);
        var back = UnetKeyMap.ToLdm(converted, "sd15");
        Assert.Equal(unet.Keys.Order(), back.Keys.Order());
    }

    [Fact]
    public void Sd15_vae_round_trips_with_reversed_decoder_levels()
    {
        var vae = Meta(Sd15ReferenceShapes.Sd15(), Sd1Checkpoint.VaePrefix);
        var d = VaeKeyMap.ToDiffusers(vae, "sd15");
        Assert.Equal(new long[] { 512, 512 }, d["encoder.mid_block.attentions.0.to_q.weight"].shape);
        // ldm's decoder.up.3 is the deepest level (512 channels), diffusers' up_blocks.0.
        Assert.Equal(vae["decoder.up.3.block.0.conv1.weight"].shape, d["decoder.up_blocks.0.resnets.0.conv1.weight"].shape);
        Assert.Equal(vae["decoder.up.1.block.0.nin_shortcut.weight"].shape, d["decoder.up_blocks.2.resnets.0.conv_shortcut.weight"].shape);
        var back = VaeKeyMap.ToLdm(d, "sd15");
        Assert.Equal(vae.Keys.Order(), back.Keys.Order());
        foreach (var (k, t) in back) Assert.Equal(vae[k].shape, t.shape);
    }
}
