namespace LoraBake.Models.Text;

/// <summary>The text <see cref="BuiltinVocabulary"/> learns its merges from: booru tags and plain English of SD prompts.</summary>
public static class BuiltinCorpus
{
    public const string Text = """
        masterpiece, best quality, high quality, ultra detailed, highres, absurdres, 1girl, 2girls, 1boy, 2boys,
        solo, multiple girls, looking at viewer, looking away, looking back, looking down, looking up, smile,
        open mouth, closed mouth, closed eyes, blush, grin, frown, tears, angry, sad, happy, surprised, serious,
        long hair, short hair, medium hair, very long hair, twintails, ponytail, braid, bangs, sidelocks, ahoge,
        hair ornament, hair ribbon, hair bow, hairband, hair flower, hair between eyes, messy hair, straight hair,
        wavy hair, curly hair, blonde hair, brown hair, black hair, white hair, silver hair, grey hair, red hair,
        pink hair, purple hair, blue hair, green hair, orange hair, aqua hair, multicolored hair, gradient hair,
        blue eyes, red eyes, green eyes, brown eyes, purple eyes, yellow eyes, golden eyes, grey eyes, pink eyes,
        heterochromia, eyelashes, eyebrows, makeup, lipstick, freckles, mole, fang, teeth, tongue, ears,
        animal ears, cat ears, fox ears, tail, wings, horns, halo, elf, pointy ears,
        dress, white dress, black dress, red dress, blue dress, sundress, skirt, pleated skirt, miniskirt,
        shirt, white shirt, t-shirt, blouse, sweater, hoodie, jacket, coat, cardigan, vest, uniform, school uniform,
        serafuku, sailor collar, necktie, bowtie, ribbon, bow, gloves, long sleeves, short sleeves, sleeveless,
        detached sleeves, bare shoulders, collarbone, cleavage, midriff, navel, belt, shorts, pants, jeans,
        thighhighs, pantyhose, socks, kneehighs, boots, shoes, sandals, barefoot, kimono, yukata, armor, cape,
        hat, witch hat, beret, cap, crown, tiara, headphones, glasses, sunglasses, mask, scarf, choker, necklace,
        earrings, jewelry, bracelet, ring, bag, umbrella, sword, weapon, gun, staff, book, cup, flower, rose,
        upper body, full body, cowboy shot, portrait, close-up, from side, from behind, from above, from below,
        standing, sitting, lying, walking, running, kneeling, arms up, hands up, hand on hip, peace sign, waving,
        outdoors, indoors, sky, blue sky, cloud, cloudy sky, night, night sky, starry sky, moon, sun, sunset,
        sunrise, sunlight, day, rain, snow, wind, fog, water, ocean, beach, sea, lake, river, forest, tree,
        trees, grass, field, mountain, mountains, city, street, building, room, bedroom, classroom, window,
        bed, chair, table, garden, park, bridge, road, castle, church, ruins, cherry blossoms, petals, leaves,
        scenery, landscape, nature, light, lighting, shadow, reflection, lens flare, bokeh, depth of field,
        blurry background, simple background, white background, detailed background, dark, bright, colorful,
        red, blue, green, yellow, orange, purple, pink, black, white, grey, brown, gold, silver,
        a photo of a cat, a photo of a dog, a painting of a woman, a portrait of a man, by an artist,
        the quick brown fox jumps over the lazy dog, in the style of, digital art, concept art, illustration,
        anime, anime style, realistic, photorealistic, oil painting, watercolor, sketch, cinematic, dramatic,
        beautiful, cute, pretty, detailed face, detailed eyes, perfect hands, sharp focus, soft focus, 8k, 4k,
        worst quality, low quality, normal quality, bad anatomy, bad hands, extra fingers, missing fingers,
        text, signature, watermark, username, jpeg artifacts, cropped, out of frame, lowres, blurry, ugly,
        and, with, of, in, on, at, the, a, an, is, her, his, holding, wearing, behind, under, over, between
        """;
}
