using LoraBake.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

// Tiny module trees whose class names are the diffusers / transformers ones, so LoraNetwork finds its
// targets in them by simple class name. Layers are called with .call(), as model code must.
namespace LoraBake.Tests.Networks.StandIns;

public sealed class Attention : Module<Tensor, Tensor>
{
    public GuardedLinear to_q, to_k;
    public ModuleList<Module<Tensor, Tensor>> to_out;

    public Attention(long c) : base("Attention")
    {
        to_q = new GuardedLinear(c, c);
        to_k = new GuardedLinear(c, c, hasBias: false);
        to_out = new ModuleList<Module<Tensor, Tensor>>(new GuardedLinear(c, c));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = to_q.call(x) * sigmoid(to_k.call(x));
        return to_out[0].call(h).MoveToOuterDisposeScope();
    }
}

public sealed class Transformer2DModel : Module<Tensor, Tensor>
{
    public GuardedConv2d proj_in, proj_out;
    public Attention attn1;

    public Transformer2DModel(long c) : base("Transformer2DModel")
    {
        proj_in = new GuardedConv2d(c, c, 1);
        attn1 = new Attention(c);
        proj_out = new GuardedConv2d(c, c, 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var (b, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]);
        var t = proj_in.call(x).flatten(2).transpose(1, 2);      // [b, hw, c]
        t = attn1.call(t).transpose(1, 2).reshape(b, c, h, w);
        return (proj_out.call(t) + x).MoveToOuterDisposeScope();
    }
}

public sealed class ResnetBlock2D : Module<Tensor, Tensor>
{
    public GuardedConv2d conv1, conv2;

    public ResnetBlock2D(long c) : base("ResnetBlock2D")
    {
        conv1 = new GuardedConv2d(c, c, 3, padding: 1);
        conv2 = new GuardedConv2d(c, c, 3, padding: 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return (x + conv2.call(functional.silu(conv1.call(x)))).MoveToOuterDisposeScope();
    }
}

public sealed class Downsample2D : Module<Tensor, Tensor>
{
    public GuardedConv2d conv;

    public Downsample2D(long c) : base("Downsample2D")
    {
        conv = new GuardedConv2d(c, c, 3, stride: 2, padding: 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => conv.call(x);
}

public sealed class DownBlock : Module<Tensor, Tensor>
{
    public ModuleList<ResnetBlock2D> resnets;
    public ModuleList<Transformer2DModel> attentions;
    public ModuleList<Downsample2D> downsamplers;

    public DownBlock(long c) : base("CrossAttnDownBlock2D")
    {
        resnets = new ModuleList<ResnetBlock2D>(new ResnetBlock2D(c));
        attentions = new ModuleList<Transformer2DModel>(new Transformer2DModel(c));
        downsamplers = new ModuleList<Downsample2D>(new Downsample2D(c));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return downsamplers[0].call(attentions[0].call(resnets[0].call(x))).MoveToOuterDisposeScope();
    }
}

/// <summary>conv_in is outside every target class, so Create must leave it alone.</summary>
public sealed class TinyUNet : Module<Tensor, Tensor>
{
    public GuardedConv2d conv_in;
    public ModuleList<DownBlock> down_blocks;

    public TinyUNet(long c = 4) : base("UNet2DConditionModel")
    {
        conv_in = new GuardedConv2d(c, c, 3, padding: 1);
        down_blocks = new ModuleList<DownBlock>(new DownBlock(c));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return down_blocks[0].call(conv_in.call(x)).MoveToOuterDisposeScope();
    }
}

public sealed class CLIPAttention : Module<Tensor, Tensor>
{
    public GuardedLinear q_proj, k_proj, v_proj, out_proj;

    public CLIPAttention(long c) : base("CLIPAttention")
    {
        q_proj = new GuardedLinear(c, c); k_proj = new GuardedLinear(c, c); v_proj = new GuardedLinear(c, c); out_proj = new GuardedLinear(c, c);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var att = softmax(q_proj.call(x).matmul(k_proj.call(x).transpose(1, 2)), -1);
        return out_proj.call(att.matmul(v_proj.call(x))).MoveToOuterDisposeScope();
    }
}

public sealed class CLIPMLP : Module<Tensor, Tensor>
{
    public GuardedLinear fc1, fc2;

    public CLIPMLP(long c) : base("CLIPMLP")
    {
        fc1 = new GuardedLinear(c, 2 * c); fc2 = new GuardedLinear(2 * c, c);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return fc2.call(functional.gelu(fc1.call(x))).MoveToOuterDisposeScope();
    }
}

public sealed class EncoderLayer : Module<Tensor, Tensor>
{
    public CLIPAttention self_attn;
    public CLIPMLP mlp;

    public EncoderLayer(long c) : base("CLIPEncoderLayer")
    {
        self_attn = new CLIPAttention(c); mlp = new CLIPMLP(c);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = x + self_attn.call(x);
        return (h + mlp.call(h)).MoveToOuterDisposeScope();
    }
}

public sealed class Encoder : Module<Tensor, Tensor>
{
    public ModuleList<EncoderLayer> layers;

    public Encoder(long c) : base("CLIPEncoder")
    {
        layers = new ModuleList<EncoderLayer>(new EncoderLayer(c));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => layers[0].call(x);
}

/// <summary>transformers' CLIPTextTransformer (paths start at encoder.).</summary>
public sealed class TextTransformer : Module<Tensor, Tensor>
{
    public Encoder encoder;

    public TextTransformer(long c) : base("CLIPTextTransformer")
    {
        encoder = new Encoder(c);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => encoder.call(x);
}

/// <summary>transformers' CLIPTextModel (paths start at text_model.).</summary>
public sealed class TinyClipText : Module<Tensor, Tensor>
{
    public TextTransformer text_model;

    public TinyClipText(long c = 4) : base("CLIPTextModel")
    {
        text_model = new TextTransformer(c);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => text_model.call(x);
}
