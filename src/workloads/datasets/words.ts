// A fixed list of common short English words: about one token each (with the
// space before it) for the BPE tokenizers of Llama, Qwen, Mistral and GPT
// models, and exactly one for kvgate's simulated tokenizer, which keeps words of
// up to 8 letters whole. Lowercase ASCII letters only, at most 8 of them, no
// duplicates: the generators and test/datasets/long-doc.test.ts rely on all
// three. Changing the list changes every generated document and the ShareGPT
// sample (regenerate and commit it).
export const WORDS: readonly string[] = Object.freeze(
  (
    'the of and to in is was for on that with as by at from his her they this had not are but which have were one all she there been ' +
    'their has when who will more if out so up said what its about than into them can only other new some could time these two may then ' +
    'first any like now over such our man me even most made after also did many before must through back years where much your way well ' +
    'down should because each just those people how too little state good very make world still own see men work long get here between ' +
    'both life being under never day same another know while last might us great old year off come since against go came right used ' +
    'take three states himself few house use during without again place around however home small found thought went say part once ' +
    'general high upon school every does got united left number course war until always away fact though water less public put think ' +
    'almost hand enough far took head yet system better set told nothing night end why called didn eyes find going look asked later ' +
    'knew point next program city business give group toward young days let room side social given present several order national ' +
    'second possible rather per face among form often early white case become large need big four within felt along children saw best ' +
    'church ever least power light thing seemed family interest want members mind country area others done turned although open god ' +
    'service certain kind problem began door thus help sense means whole matter perhaps itself times law human line above name example ' +
    'action company hands local show whether five history gave today either act feet across taken past quite anything having seen death ' +
    'body half really week field word free car already tell together college shall money period held keep sure probably real behind ' +
    'seems cannot air question office brought whose special heard major problems ago became federal moment study known result street ' +
    'economic boy position reason change south board job society areas west close turn love true court force full seem policy art voice ' +
    'front nature river garden winter summer market paper bridge signal engine cache memory layer token block model'
  ).split(' '),
);
