using TorchSharp;
using LoraBake.Models.Vae;
using static TorchSharp.torch;

namespace LoraBake.Models.Checkpoints;

/// <summary>
/// Key names and shapes of a full-size SD 1.5 single-file checkpoint in the original layout (UNet 859,520,964,
/// CLIP ViT-L text 123,060,480, VAE 83,653,863 parameters), built from the architecture rules without any
/// weights: for shape tests of the full-size layout and for generating random stand-in checkpoints.
/// </summary>
public static class Sd15ReferenceShapes
{
    public static Dictionary<string, long[]> Sd15()
    {
        var s = new Dictionary<string, long[]>();
        void W(string k, params long[] shape) => s[k] = shape;
        const long emb = 1280, ctx = 768;
        var u = "model.diffusion_model.";
        void Res(string p, long cin, long cout)
        {
            W(p + "in_layers.0.weight", cin); W(p + "in_layers.0.bias", cin);
            W(p + "in_layers.2.weight", cout, cin, 3, 3); W(p + "in_layers.2.bias", cout);
            W(p + "emb_layers.1.weight", cout, emb); W(p + "emb_layers.1.bias", cout);
            W(p + "out_layers.0.weight", cout); W(p + "out_layers.0.bias", cout);
            W(p + "out_layers.3.weight", cout, cout, 3, 3); W(p + "out_layers.3.bias", cout);
            if (cin != cout) { W(p + "skip_connection.weight", cout, cin, 1, 1); W(p + "skip_connection.bias", cout); }
        }
        void Xf(string p, long c)
        {
            W(p + "norm.weight", c); W(p + "norm.bias", c);
            W(p + "proj_in.weight", c, c, 1, 1); W(p + "proj_in.bias", c);
            var b = p + "transformer_blocks.0.";
            foreach (var a in new[] { "attn1", "attn2" })
            {
                W($"{b}{a}.to_q.weight", c, c);
                W($"{b}{a}.to_k.weight", c, a == "attn1" ? c : ctx);
                W($"{b}{a}.to_v.weight", c, a == "attn1" ? c : ctx);
                W($"{b}{a}.to_out.0.weight", c, c); W($"{b}{a}.to_out.0.bias", c);
            }
            W(b + "ff.net.0.proj.weight", 8 * c, c); W(b + "ff.net.0.proj.bias", 8 * c);
            W(b + "ff.net.2.weight", c, 4 * c); W(b + "ff.net.2.bias", c);
            foreach (var n in new[] { "norm1", "norm2", "norm3" }) { W($"{b}{n}.weight", c); W($"{b}{n}.bias", c); }
            W(p + "proj_out.weight", c, c, 1, 1); W(p + "proj_out.bias", c);
        }
        W(u + "time_embed.0.weight", emb, 320); W(u + "time_embed.0.bias", emb);
        W(u + "time_embed.2.weight", emb, emb); W(u + "time_embed.2.bias", emb);
        W(u + "input_blocks.0.0.weight", 320, 4, 3, 3); W(u + "input_blocks.0.0.bias", 320);
        long[] mult = { 1, 2, 4, 4 };
        var chans = new Stack<long>(); chans.Push(320);
        long cur = 320; var idx = 1;
        for (var l = 0; l < 4; l++)
        {
            for (var j = 0; j < 2; j++, idx++)
            {
                Res($"{u}input_blocks.{idx}.0.", cur, 320 * mult[l]); cur = 320 * mult[l];
                if (l < 3) Xf($"{u}input_blocks.{idx}.1.", cur);
                chans.Push(cur);
            }
            if (l < 3) { W($"{u}input_blocks.{idx}.0.op.weight", cur, cur, 3, 3); W($"{u}input_blocks.{idx}.0.op.bias", cur); chans.Push(cur); idx++; }
        }
        Res(u + "middle_block.0.", cur, cur); Xf(u + "middle_block.1.", cur); Res(u + "middle_block.2.", cur, cur);
        idx = 0;
        for (var l = 3; l >= 0; l--)
            for (var j = 0; j < 3; j++, idx++)
            {
                var cout = 320 * mult[l];
                Res($"{u}output_blocks.{idx}.0.", cur + chans.Pop(), cout); cur = cout;
                if (l < 3) Xf($"{u}output_blocks.{idx}.1.", cur);
                if (l > 0 && j == 2) { var sub = l < 3 ? 2 : 1; W($"{u}output_blocks.{idx}.{sub}.conv.weight", cur, cur, 3, 3); W($"{u}output_blocks.{idx}.{sub}.conv.bias", cur); }
            }
        W(u + "out.0.weight", 320); W(u + "out.0.bias", 320); W(u + "out.2.weight", 4, 320, 3, 3); W(u + "out.2.bias", 4);

        var t = "cond_stage_model.transformer.text_model.";
        W(t + "embeddings.token_embedding.weight", 49408, 768); W(t + "embeddings.position_embedding.weight", 77, 768);
        for (var i = 0; i < 12; i++)
        {
            var p = $"{t}encoder.layers.{i}.";
            foreach (var proj in new[] { "q_proj", "k_proj", "v_proj", "out_proj" }) { W($"{p}self_attn.{proj}.weight", 768, 768); W($"{p}self_attn.{proj}.bias", 768); }
            foreach (var n in new[] { "layer_norm1", "layer_norm2" }) { W($"{p}{n}.weight", 768); W($"{p}{n}.bias", 768); }
            W(p + "mlp.fc1.weight", 3072, 768); W(p + "mlp.fc1.bias", 3072); W(p + "mlp.fc2.weight", 768, 3072); W(p + "mlp.fc2.bias", 768);
        }
        W(t + "final_layer_norm.weight", 768); W(t + "final_layer_norm.bias", 768);

        using var vae = new AutoencoderKL(VaeConfig.Sd1, new Device(DeviceType.META));
        foreach (var (k, v) in VaeKeyMap.ToLdm(vae.state_dict(), "meta")) W("first_stage_model." + k, v.shape);
        return s;
    }
}
