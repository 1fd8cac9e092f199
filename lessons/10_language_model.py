# %% [markdown]
# # 10 · A language model that writes
#
# Give a model the words *"MENENIUS:"* and it goes on:
#
# > MENENIUS:<br><br>CIRIUS:<br>No't fool that bedit hould and his, in Aufidiuss, bour of though coor usfry …
#
# That is this lesson's model after a few seconds of training on one CPU core (temperature 0.8, section 6): not
# Shakespeare, only half its words real, but it has learnt, one character at a time, that a speaker's name comes
# in capitals with a colon and a line break (even the empty speech copies the text's "MARCIUS:<br><br>COMINIUS:").
#
# **Character-level language models** made recurrent networks famous (Karpathy, *The Unreasonable Effectiveness
# of Recurrent Neural Networks*, 2015): they learn to predict a text's next character, then write by sampling
# from their own predictions.
#
# You build one for 28 KB of Shakespeare: cut the text into **parallel streams**, carrying the state between
# windows; check that **your `ScratchLSTM`** (lesson 08) trains it exactly like `nn.LSTM`; measure **perplexity**
# on unseen text against counting baselines; write the **sampler** (greedy, temperature, top-k).
#
# **You should know:** lesson 03 (a character model, truncated BPTT with `detach`), lessons 06 and 08 (the LSTM).

# %% [markdown]
# ## Setup
# The numbers the tests compare are **float64**: the same digits on any CPU. The real training runs in float32 for
# speed; its printout is not compared, and its checks assert only what holds with a margin.

# %%
import contextlib
import io
import math
import re
import time
from collections import Counter

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
import torch.nn as nn
import torch.nn.functional as F
from IPython.display import HTML, display

torch.manual_seed(0)
torch.set_printoptions(precision=4, sci_mode=False)
torch.set_num_threads(1)  # small tensors: one CPU thread is as fast here, and sums in the same order anywhere
DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")  # only the GPU cell uses it
F64 = torch.float64

# %% [markdown]
# ## 1 · The text, as numbers
#
# The collapsed cell holds the text: the first six scenes of Shakespeare's *Coriolanus* (public domain), 28,186
# characters. Its distinct characters are the **vocabulary**: each gets an integer id.

# %% hidden
# Shakespeare, Coriolanus, Act I, scenes 1-6 (public domain): the first 28,186 characters of the "tiny
# shakespeare" collection, github.com/karpathy/char-rnn, file data/tinyshakespeare/input.txt, copied verbatim.
TEXT = """\
First Citizen:
Before we proceed any further, hear me speak.

All:
Speak, speak.

First Citizen:
You are all resolved rather to die than to famish?

All:
Resolved. resolved.

First Citizen:
First, you know Caius Marcius is chief enemy to the people.

All:
We know't, we know't.

First Citizen:
Let us kill him, and we'll have corn at our own price.
Is't a verdict?

All:
No more talking on't; let it be done: away, away!

Second Citizen:
One word, good citizens.

First Citizen:
We are accounted poor citizens, the patricians good.
What authority surfeits on would relieve us: if they
would yield us but the superfluity, while it were
wholesome, we might guess they relieved us humanely;
but they think we are too dear: the leanness that
afflicts us, the object of our misery, is as an
inventory to particularise their abundance; our
sufferance is a gain to them Let us revenge this with
our pikes, ere we become rakes: for the gods know I
speak this in hunger for bread, not in thirst for revenge.

Second Citizen:
Would you proceed especially against Caius Marcius?

All:
Against him first: he's a very dog to the commonalty.

Second Citizen:
Consider you what services he has done for his country?

First Citizen:
Very well; and could be content to give him good
report fort, but that he pays himself with being proud.

Second Citizen:
Nay, but speak not maliciously.

First Citizen:
I say unto you, what he hath done famously, he did
it to that end: though soft-conscienced men can be
content to say it was for his country he did it to
please his mother and to be partly proud; which he
is, even till the altitude of his virtue.

Second Citizen:
What he cannot help in his nature, you account a
vice in him. You must in no way say he is covetous.

First Citizen:
If I must not, I need not be barren of accusations;
he hath faults, with surplus, to tire in repetition.
What shouts are these? The other side o' the city
is risen: why stay we prating here? to the Capitol!

All:
Come, come.

First Citizen:
Soft! who comes here?

Second Citizen:
Worthy Menenius Agrippa; one that hath always loved
the people.

First Citizen:
He's one honest enough: would all the rest were so!

MENENIUS:
What work's, my countrymen, in hand? where go you
With bats and clubs? The matter? speak, I pray you.

First Citizen:
Our business is not unknown to the senate; they have
had inkling this fortnight what we intend to do,
which now we'll show 'em in deeds. They say poor
suitors have strong breaths: they shall know we
have strong arms too.

MENENIUS:
Why, masters, my good friends, mine honest neighbours,
Will you undo yourselves?

First Citizen:
We cannot, sir, we are undone already.

MENENIUS:
I tell you, friends, most charitable care
Have the patricians of you. For your wants,
Your suffering in this dearth, you may as well
Strike at the heaven with your staves as lift them
Against the Roman state, whose course will on
The way it takes, cracking ten thousand curbs
Of more strong link asunder than can ever
Appear in your impediment. For the dearth,
The gods, not the patricians, make it, and
Your knees to them, not arms, must help. Alack,
You are transported by calamity
Thither where more attends you, and you slander
The helms o' the state, who care for you like fathers,
When you curse them as enemies.

First Citizen:
Care for us! True, indeed! They ne'er cared for us
yet: suffer us to famish, and their store-houses
crammed with grain; make edicts for usury, to
support usurers; repeal daily any wholesome act
established against the rich, and provide more
piercing statutes daily, to chain up and restrain
the poor. If the wars eat us not up, they will; and
there's all the love they bear us.

MENENIUS:
Either you must
Confess yourselves wondrous malicious,
Or be accused of folly. I shall tell you
A pretty tale: it may be you have heard it;
But, since it serves my purpose, I will venture
To stale 't a little more.

First Citizen:
Well, I'll hear it, sir: yet you must not think to
fob off our disgrace with a tale: but, an 't please
you, deliver.

MENENIUS:
There was a time when all the body's members
Rebell'd against the belly, thus accused it:
That only like a gulf it did remain
I' the midst o' the body, idle and unactive,
Still cupboarding the viand, never bearing
Like labour with the rest, where the other instruments
Did see and hear, devise, instruct, walk, feel,
And, mutually participate, did minister
Unto the appetite and affection common
Of the whole body. The belly answer'd--

First Citizen:
Well, sir, what answer made the belly?

MENENIUS:
Sir, I shall tell you. With a kind of smile,
Which ne'er came from the lungs, but even thus--
For, look you, I may make the belly smile
As well as speak--it tauntingly replied
To the discontented members, the mutinous parts
That envied his receipt; even so most fitly
As you malign our senators for that
They are not such as you.

First Citizen:
Your belly's answer? What!
The kingly-crowned head, the vigilant eye,
The counsellor heart, the arm our soldier,
Our steed the leg, the tongue our trumpeter.
With other muniments and petty helps
In this our fabric, if that they--

MENENIUS:
What then?
'Fore me, this fellow speaks! What then? what then?

First Citizen:
Should by the cormorant belly be restrain'd,
Who is the sink o' the body,--

MENENIUS:
Well, what then?

First Citizen:
The former agents, if they did complain,
What could the belly answer?

MENENIUS:
I will tell you
If you'll bestow a small--of what you have little--
Patience awhile, you'll hear the belly's answer.

First Citizen:
Ye're long about it.

MENENIUS:
Note me this, good friend;
Your most grave belly was deliberate,
Not rash like his accusers, and thus answer'd:
'True is it, my incorporate friends,' quoth he,
'That I receive the general food at first,
Which you do live upon; and fit it is,
Because I am the store-house and the shop
Of the whole body: but, if you do remember,
I send it through the rivers of your blood,
Even to the court, the heart, to the seat o' the brain;
And, through the cranks and offices of man,
The strongest nerves and small inferior veins
From me receive that natural competency
Whereby they live: and though that all at once,
You, my good friends,'--this says the belly, mark me,--

First Citizen:
Ay, sir; well, well.

MENENIUS:
'Though all at once cannot
See what I do deliver out to each,
Yet I can make my audit up, that all
From me do back receive the flour of all,
And leave me but the bran.' What say you to't?

First Citizen:
It was an answer: how apply you this?

MENENIUS:
The senators of Rome are this good belly,
And you the mutinous members; for examine
Their counsels and their cares, digest things rightly
Touching the weal o' the common, you shall find
No public benefit which you receive
But it proceeds or comes from them to you
And no way from yourselves. What do you think,
You, the great toe of this assembly?

First Citizen:
I the great toe! why the great toe?

MENENIUS:
For that, being one o' the lowest, basest, poorest,
Of this most wise rebellion, thou go'st foremost:
Thou rascal, that art worst in blood to run,
Lead'st first to win some vantage.
But make you ready your stiff bats and clubs:
Rome and her rats are at the point of battle;
The one side must have bale.
Hail, noble Marcius!

MARCIUS:
Thanks. What's the matter, you dissentious rogues,
That, rubbing the poor itch of your opinion,
Make yourselves scabs?

First Citizen:
We have ever your good word.

MARCIUS:
He that will give good words to thee will flatter
Beneath abhorring. What would you have, you curs,
That like nor peace nor war? the one affrights you,
The other makes you proud. He that trusts to you,
Where he should find you lions, finds you hares;
Where foxes, geese: you are no surer, no,
Than is the coal of fire upon the ice,
Or hailstone in the sun. Your virtue is
To make him worthy whose offence subdues him
And curse that justice did it.
Who deserves greatness
Deserves your hate; and your affections are
A sick man's appetite, who desires most that
Which would increase his evil. He that depends
Upon your favours swims with fins of lead
And hews down oaks with rushes. Hang ye! Trust Ye?
With every minute you do change a mind,
And call him noble that was now your hate,
Him vile that was your garland. What's the matter,
That in these several places of the city
You cry against the noble senate, who,
Under the gods, keep you in awe, which else
Would feed on one another? What's their seeking?

MENENIUS:
For corn at their own rates; whereof, they say,
The city is well stored.

MARCIUS:
Hang 'em! They say!
They'll sit by the fire, and presume to know
What's done i' the Capitol; who's like to rise,
Who thrives and who declines; side factions
and give out
Conjectural marriages; making parties strong
And feebling such as stand not in their liking
Below their cobbled shoes. They say there's
grain enough!
Would the nobility lay aside their ruth,
And let me use my sword, I'll make a quarry
With thousands of these quarter'd slaves, as high
As I could pick my lance.

MENENIUS:
Nay, these are almost thoroughly persuaded;
For though abundantly they lack discretion,
Yet are they passing cowardly. But, I beseech you,
What says the other troop?

MARCIUS:
They are dissolved: hang 'em!
They said they were an-hungry; sigh'd forth proverbs,
That hunger broke stone walls, that dogs must eat,
That meat was made for mouths, that the gods sent not
Corn for the rich men only: with these shreds
They vented their complainings; which being answer'd,
And a petition granted them, a strange one--
To break the heart of generosity,
And make bold power look pale--they threw their caps
As they would hang them on the horns o' the moon,
Shouting their emulation.

MENENIUS:
What is granted them?

MARCIUS:
Five tribunes to defend their vulgar wisdoms,
Of their own choice: one's Junius Brutus,
Sicinius Velutus, and I know not--'Sdeath!
The rabble should have first unroof'd the city,
Ere so prevail'd with me: it will in time
Win upon power and throw forth greater themes
For insurrection's arguing.

MENENIUS:
This is strange.

MARCIUS:
Go, get you home, you fragments!

Messenger:
Where's Caius Marcius?

MARCIUS:
Here: what's the matter?

Messenger:
The news is, sir, the Volsces are in arms.

MARCIUS:
I am glad on 't: then we shall ha' means to vent
Our musty superfluity. See, our best elders.

First Senator:
Marcius, 'tis true that you have lately told us;
The Volsces are in arms.

MARCIUS:
They have a leader,
Tullus Aufidius, that will put you to 't.
I sin in envying his nobility,
And were I any thing but what I am,
I would wish me only he.

COMINIUS:
You have fought together.

MARCIUS:
Were half to half the world by the ears and he.
Upon my party, I'ld revolt to make
Only my wars with him: he is a lion
That I am proud to hunt.

First Senator:
Then, worthy Marcius,
Attend upon Cominius to these wars.

COMINIUS:
It is your former promise.

MARCIUS:
Sir, it is;
And I am constant. Titus Lartius, thou
Shalt see me once more strike at Tullus' face.
What, art thou stiff? stand'st out?

TITUS:
No, Caius Marcius;
I'll lean upon one crutch and fight with t'other,
Ere stay behind this business.

MENENIUS:
O, true-bred!

First Senator:
Your company to the Capitol; where, I know,
Our greatest friends attend us.

TITUS:

COMINIUS:
Noble Marcius!

First Senator:

MARCIUS:
Nay, let them follow:
The Volsces have much corn; take these rats thither
To gnaw their garners. Worshipful mutiners,
Your valour puts well forth: pray, follow.

SICINIUS:
Was ever man so proud as is this Marcius?

BRUTUS:
He has no equal.

SICINIUS:
When we were chosen tribunes for the people,--

BRUTUS:
Mark'd you his lip and eyes?

SICINIUS:
Nay. but his taunts.

BRUTUS:
Being moved, he will not spare to gird the gods.

SICINIUS:
Be-mock the modest moon.

BRUTUS:
The present wars devour him: he is grown
Too proud to be so valiant.

SICINIUS:
Such a nature,
Tickled with good success, disdains the shadow
Which he treads on at noon: but I do wonder
His insolence can brook to be commanded
Under Cominius.

BRUTUS:
Fame, at the which he aims,
In whom already he's well graced, can not
Better be held nor more attain'd than by
A place below the first: for what miscarries
Shall be the general's fault, though he perform
To the utmost of a man, and giddy censure
Will then cry out of Marcius 'O if he
Had borne the business!'

SICINIUS:
Besides, if things go well,
Opinion that so sticks on Marcius shall
Of his demerits rob Cominius.

BRUTUS:
Come:
Half all Cominius' honours are to Marcius.
Though Marcius earned them not, and all his faults
To Marcius shall be honours, though indeed
In aught he merit not.

SICINIUS:
Let's hence, and hear
How the dispatch is made, and in what fashion,
More than his singularity, he goes
Upon this present action.

BRUTUS:
Lets along.

First Senator:
So, your opinion is, Aufidius,
That they of Rome are entered in our counsels
And know how we proceed.

AUFIDIUS:
Is it not yours?
What ever have been thought on in this state,
That could be brought to bodily act ere Rome
Had circumvention? 'Tis not four days gone
Since I heard thence; these are the words: I think
I have the letter here; yes, here it is.
'They have press'd a power, but it is not known
Whether for east or west: the dearth is great;
The people mutinous; and it is rumour'd,
Cominius, Marcius your old enemy,
Who is of Rome worse hated than of you,
And Titus Lartius, a most valiant Roman,
These three lead on this preparation
Whither 'tis bent: most likely 'tis for you:
Consider of it.'

First Senator:
Our army's in the field
We never yet made doubt but Rome was ready
To answer us.

AUFIDIUS:
Nor did you think it folly
To keep your great pretences veil'd till when
They needs must show themselves; which
in the hatching,
It seem'd, appear'd to Rome. By the discovery.
We shall be shorten'd in our aim, which was
To take in many towns ere almost Rome
Should know we were afoot.

Second Senator:
Noble Aufidius,
Take your commission; hie you to your bands:
Let us alone to guard Corioli:
If they set down before 's, for the remove
Bring your army; but, I think, you'll find
They've not prepared for us.

AUFIDIUS:
O, doubt not that;
I speak from certainties. Nay, more,
Some parcels of their power are forth already,
And only hitherward. I leave your honours.
If we and Caius Marcius chance to meet,
'Tis sworn between us we shall ever strike
Till one can do no more.

All:
The gods assist you!

AUFIDIUS:
And keep your honours safe!

First Senator:
Farewell.

Second Senator:
Farewell.

All:
Farewell.

VOLUMNIA:
I pray you, daughter, sing; or express yourself in a
more comfortable sort: if my son were my husband, I
should freelier rejoice in that absence wherein he
won honour than in the embracements of his bed where
he would show most love. When yet he was but
tender-bodied and the only son of my womb, when
youth with comeliness plucked all gaze his way, when
for a day of kings' entreaties a mother should not
sell him an hour from her beholding, I, considering
how honour would become such a person. that it was
no better than picture-like to hang by the wall, if
renown made it not stir, was pleased to let him seek
danger where he was like to find fame. To a cruel
war I sent him; from whence he returned, his brows
bound with oak. I tell thee, daughter, I sprang not
more in joy at first hearing he was a man-child
than now in first seeing he had proved himself a
man.

VIRGILIA:
But had he died in the business, madam; how then?

VOLUMNIA:
Then his good report should have been my son; I
therein would have found issue. Hear me profess
sincerely: had I a dozen sons, each in my love
alike and none less dear than thine and my good
Marcius, I had rather had eleven die nobly for their
country than one voluptuously surfeit out of action.

Gentlewoman:
Madam, the Lady Valeria is come to visit you.

VIRGILIA:
Beseech you, give me leave to retire myself.

VOLUMNIA:
Indeed, you shall not.
Methinks I hear hither your husband's drum,
See him pluck Aufidius down by the hair,
As children from a bear, the Volsces shunning him:
Methinks I see him stamp thus, and call thus:
'Come on, you cowards! you were got in fear,
Though you were born in Rome:' his bloody brow
With his mail'd hand then wiping, forth he goes,
Like to a harvest-man that's task'd to mow
Or all or lose his hire.

VIRGILIA:
His bloody brow! O Jupiter, no blood!

VOLUMNIA:
Away, you fool! it more becomes a man
Than gilt his trophy: the breasts of Hecuba,
When she did suckle Hector, look'd not lovelier
Than Hector's forehead when it spit forth blood
At Grecian sword, contemning. Tell Valeria,
We are fit to bid her welcome.

VIRGILIA:
Heavens bless my lord from fell Aufidius!

VOLUMNIA:
He'll beat Aufidius 'head below his knee
And tread upon his neck.

VALERIA:
My ladies both, good day to you.

VOLUMNIA:
Sweet madam.

VIRGILIA:
I am glad to see your ladyship.

VALERIA:
How do you both? you are manifest house-keepers.
What are you sewing here? A fine spot, in good
faith. How does your little son?

VIRGILIA:
I thank your ladyship; well, good madam.

VOLUMNIA:
He had rather see the swords, and hear a drum, than
look upon his school-master.

VALERIA:
O' my word, the father's son: I'll swear,'tis a
very pretty boy. O' my troth, I looked upon him o'
Wednesday half an hour together: has such a
confirmed countenance. I saw him run after a gilded
butterfly: and when he caught it, he let it go
again; and after it again; and over and over he
comes, and again; catched it again; or whether his
fall enraged him, or how 'twas, he did so set his
teeth and tear it; O, I warrant it, how he mammocked
it!

VOLUMNIA:
One on 's father's moods.

VALERIA:
Indeed, la, 'tis a noble child.

VIRGILIA:
A crack, madam.

VALERIA:
Come, lay aside your stitchery; I must have you play
the idle husewife with me this afternoon.

VIRGILIA:
No, good madam; I will not out of doors.

VALERIA:
Not out of doors!

VOLUMNIA:
She shall, she shall.

VIRGILIA:
Indeed, no, by your patience; I'll not over the
threshold till my lord return from the wars.

VALERIA:
Fie, you confine yourself most unreasonably: come,
you must go visit the good lady that lies in.

VIRGILIA:
I will wish her speedy strength, and visit her with
my prayers; but I cannot go thither.

VOLUMNIA:
Why, I pray you?

VIRGILIA:
'Tis not to save labour, nor that I want love.

VALERIA:
You would be another Penelope: yet, they say, all
the yarn she spun in Ulysses' absence did but fill
Ithaca full of moths. Come; I would your cambric
were sensible as your finger, that you might leave
pricking it for pity. Come, you shall go with us.

VIRGILIA:
No, good madam, pardon me; indeed, I will not forth.

VALERIA:
In truth, la, go with me; and I'll tell you
excellent news of your husband.

VIRGILIA:
O, good madam, there can be none yet.

VALERIA:
Verily, I do not jest with you; there came news from
him last night.

VIRGILIA:
Indeed, madam?

VALERIA:
In earnest, it's true; I heard a senator speak it.
Thus it is: the Volsces have an army forth; against
whom Cominius the general is gone, with one part of
our Roman power: your lord and Titus Lartius are set
down before their city Corioli; they nothing doubt
prevailing and to make it brief wars. This is true,
on mine honour; and so, I pray, go with us.

VIRGILIA:
Give me excuse, good madam; I will obey you in every
thing hereafter.

VOLUMNIA:
Let her alone, lady: as she is now, she will but
disease our better mirth.

VALERIA:
In troth, I think she would. Fare you well, then.
Come, good sweet lady. Prithee, Virgilia, turn thy
solemness out o' door. and go along with us.

VIRGILIA:
No, at a word, madam; indeed, I must not. I wish
you much mirth.

VALERIA:
Well, then, farewell.

MARCIUS:
Yonder comes news. A wager they have met.

LARTIUS:
My horse to yours, no.

MARCIUS:
'Tis done.

LARTIUS:
Agreed.

MARCIUS:
Say, has our general met the enemy?

Messenger:
They lie in view; but have not spoke as yet.

LARTIUS:
So, the good horse is mine.

MARCIUS:
I'll buy him of you.

LARTIUS:
No, I'll nor sell nor give him: lend you him I will
For half a hundred years. Summon the town.

MARCIUS:
How far off lie these armies?

Messenger:
Within this mile and half.

MARCIUS:
Then shall we hear their 'larum, and they ours.
Now, Mars, I prithee, make us quick in work,
That we with smoking swords may march from hence,
To help our fielded friends! Come, blow thy blast.
Tutus Aufidius, is he within your walls?

First Senator:
No, nor a man that fears you less than he,
That's lesser than a little.
Hark! our drums
Are bringing forth our youth. We'll break our walls,
Rather than they shall pound us up: our gates,
Which yet seem shut, we, have but pinn'd with rushes;
They'll open of themselves.
Hark you. far off!
There is Aufidius; list, what work he makes
Amongst your cloven army.

MARCIUS:
O, they are at it!

LARTIUS:
Their noise be our instruction. Ladders, ho!

MARCIUS:
They fear us not, but issue forth their city.
Now put your shields before your hearts, and fight
With hearts more proof than shields. Advance,
brave Titus:
They do disdain us much beyond our thoughts,
Which makes me sweat with wrath. Come on, my fellows:
He that retires I'll take him for a Volsce,
And he shall feel mine edge.

MARCIUS:
All the contagion of the south light on you,
You shames of Rome! you herd of--Boils and plagues
Plaster you o'er, that you may be abhorr'd
Further than seen and one infect another
Against the wind a mile! You souls of geese,
That bear the shapes of men, how have you run
From slaves that apes would beat! Pluto and hell!
All hurt behind; backs red, and faces pale
With flight and agued fear! Mend and charge home,
Or, by the fires of heaven, I'll leave the foe
And make my wars on you: look to't: come on;
If you'll stand fast, we'll beat them to their wives,
As they us to our trenches followed.
So, now the gates are ope: now prove good seconds:
'Tis for the followers fortune widens them,
Not for the fliers: mark me, and do the like.

First Soldier:
Fool-hardiness; not I.

Second Soldier:
Nor I.

First Soldier:
See, they have shut him in.

All:
To the pot, I warrant him.

LARTIUS:
What is become of Marcius?

All:
Slain, sir, doubtless.

First Soldier:
Following the fliers at the very heels,
With them he enters; who, upon the sudden,
Clapp'd to their gates: he is himself alone,
To answer all the city.

LARTIUS:
O noble fellow!
Who sensibly outdares his senseless sword,
And, when it bows, stands up. Thou art left, Marcius:
A carbuncle entire, as big as thou art,
Were not so rich a jewel. Thou wast a soldier
Even to Cato's wish, not fierce and terrible
Only in strokes; but, with thy grim looks and
The thunder-like percussion of thy sounds,
Thou madst thine enemies shake, as if the world
Were feverous and did tremble.

First Soldier:
Look, sir.

LARTIUS:
O,'tis Marcius!
Let's fetch him off, or make remain alike.

First Roman:
This will I carry to Rome.

Second Roman:
And I this.

Third Roman:
A murrain on't! I took this for silver.

MARCIUS:
See here these movers that do prize their hours
At a crack'd drachm! Cushions, leaden spoons,
Irons of a doit, doublets that hangmen would
Bury with those that wore them, these base slaves,
Ere yet the fight be done, pack up: down with them!
And hark, what noise the general makes! To him!
There is the man of my soul's hate, Aufidius,
Piercing our Romans: then, valiant Titus, take
Convenient numbers to make good the city;
Whilst I, with those that have the spirit, will haste
To help Cominius.

LARTIUS:
Worthy sir, thou bleed'st;
Thy exercise hath been too violent for
A second course of fight.

MARCIUS:
Sir, praise me not;
My work hath yet not warm'd me: fare you well:
The blood I drop is rather physical
Than dangerous to me: to Aufidius thus
I will appear, and fight.

LARTIUS:
Now the fair goddess, Fortune,
Fall deep in love with thee; and her great charms
Misguide thy opposers' swords! Bold gentleman,
Prosperity be thy page!

MARCIUS:
Thy friend no less
Than those she placeth highest! So, farewell.

LARTIUS:
Thou worthiest Marcius!
Go, sound thy trumpet in the market-place;
Call thither all the officers o' the town,
Where they shall know our mind: away!

COMINIUS:
Breathe you, my friends: well fought;
we are come off
Like Romans, neither foolish in our stands,
Nor cowardly in retire: believe me, sirs,
We shall be charged again. Whiles we have struck,
By interims and conveying gusts we have heard
The charges of our friends. Ye Roman gods!
Lead their successes as we wish our own,
That both our powers, with smiling
fronts encountering,
May give you thankful sacrifice.
Thy news?

Messenger:
The citizens of Corioli have issued,
And given to Lartius and to Marcius battle:
I saw our party to their trenches driven,
And then I came away.

COMINIUS:
Though thou speak'st truth,
Methinks thou speak'st not well.
How long is't since?

Messenger:
Above an hour, my lord.

COMINIUS:
'Tis not a mile; briefly we heard their drums:
How couldst thou in a mile confound an hour,
And bring thy news so late?

Messenger:
Spies of the Volsces
Held me in chase, that I was forced to wheel
Three or four miles about, else had I, sir,
Half an hour since brought my report.

COMINIUS:
Who's yonder,
That does appear as he were flay'd? O gods
He has the stamp of Marcius; and I have
Before-time seen him thus.

MARCIUS:

COMINIUS:
The shepherd knows not thunder from a tabour
More than I know the sound of Marcius' tongue
From every meaner man.

MARCIUS:
Come I too late?

COMINIUS:
Ay, if you come not in the blood of others,
But mantled in your own.

MARCIUS:
O, let me clip ye
In arms as sound as when I woo'd, in heart
As merry as when our nuptial day was done,
And tapers burn'd to bedward!

COMINIUS:
Flower of warriors,
How is it with Titus Lartius?

MARCIUS:
As with a man busied about decrees:
Condemning some to death, and some to exile;
Ransoming him, or pitying, threatening the other;
Holding Corioli in the name of Rome,
Even like a fawning greyhound in the leash,
To let him slip at will.

COMINIUS:
Where is that slave
Which told me they had beat you to your trenches?
Where is he? call him hither.

MARCIUS:
Let him alone;
He did inform the truth: but for our gentlemen,
The common file--a plague! tribunes for them!--
The mouse ne'er shunn'd the cat as they did budge
From rascals worse than they.

COMINIUS:
But how prevail'd you?

MARCIUS:
Will the time serve to tell? I do not think.
Where is the enemy? are you lords o' the field?
If not, why cease you till you are so?

COMINIUS:
Marcius,
We have at disadvantage fought and did
Retire to win our purpose.

MARCIUS:
How lies their battle? know you on which side
They have placed their men of trust?

COMINIUS:
As I guess, Marcius,
Their bands i' the vaward are the Antiates,
Of their best trust; o'er them Aufidius,
Their very heart of hope.

MARCIUS:
I do beseech you,
By all the battles wherein we have fought,
By the blood we have shed together, by the vows
We have made to endure friends, that you directly
Set me against Aufidius and his Antiates;
And that you not delay the present, but,
Filling the air with swords advanced and darts,
We prove this very hour.

COMINIUS:
Though I could wish
You were conducted to a gentle bath
And balms applied to, you, yet dare I never
Deny your asking: take your choice of those
That best can aid your action.

MARCIUS:
Those are they
That most are willing. If any such be here--
As it were sin to doubt--that love this painting
Wherein you see me smear'd; if any fear
Lesser his person than an ill report;
If any think brave death outweighs bad life
And that his country's dearer than himself;
Let him alone, or so many so minded,
Wave thus, to express his disposition,
And follow Marcius.
O, me alone! make you a sword of me?
If these shows be not outward, which of you
But is four Volsces? none of you but is
Able to bear against the great Aufidius
A shield as hard as his. A certain number,
Though thanks to all, must I select
from all: the rest
Shall bear the business in some other fight,
As cause will be obey'd. Please you to march;
And four shall quickly draw out my command,
Which men are best inclined.
"""
print(f"TEXT: {len(TEXT):,} characters of Coriolanus, Act I; it starts {TEXT[:30]!r}")

# %%
vocab = sorted(set(TEXT))  # the characters that occur: newline, space, punctuation, letters
V = len(vocab)
stoi = {ch: i for i, ch in enumerate(vocab)}  # character → id


def encode(s):
    """A string → its character ids, a tensor [len(s)]."""
    return torch.tensor([stoi[ch] for ch in s])


def decode(ids):
    """Character ids (any 1-D tensor or list) → the string."""
    return "".join(vocab[i] for i in torch.as_tensor(ids).tolist())


ids = encode(TEXT)
assert decode(ids) == TEXT, "encode and decode must round-trip"
print(f"V = {V} characters: {''.join(vocab)!r}")
print(f"'Rome' → {encode('Rome').tolist()} → {decode(encode('Rome'))!r}")

# %% [markdown]
# We hold out the last 10 % of the text: the loss there says how well the model **generalises**.
#
# **How good is good?** The loss is the cross-entropy in nats, $-\frac{1}{n}\sum \ln p(\text{true next char})$;
# its exponential, the **perplexity**, is the number of equally likely characters the model is as unsure as.
# Baselines: a uniform guess (perplexity V = 58), and **counting** (an n-gram model): how often, in the training
# text, each character follows each run of n − 1 characters. Long runs are rare, so counting needs
# **smoothing**: Kneser-Ney takes 0.75 off each count and hands what that frees to the order below, so nothing
# is impossible. Kneser-Ney's idea: the lower orders count in how many different contexts a character follows,
# not how often. n = 1 is letter frequencies.

# %%
n_held = len(ids) // 10
train_ids, held_ids = ids[:-n_held], ids[-n_held:]  # [25,368] and [2,818]
train_text, held_text = TEXT[:-n_held], TEXT[-n_held:]


def kneser_ney(text, n, d=0.75):
    """Interpolated Kneser-Ney counting of order n: p(c, h) = p(next character c | h, the n − 1 before it)."""
    grams = [Counter(text[i - k:i + 1] for i in range(k, len(text))) for k in range(n)]  # grams[k]: runs of k + 1
    for k in range(n - 1):  # below the top order: in how many contexts a run occurs (Kneser-Ney's idea)
        grams[k] = Counter(g[1:] for g in grams[k + 1])
    kinds = [Counter(g[:-1] for g in grams[k]) for k in range(n)]  # per context: how many distinct next characters
    total = [Counter() for _ in range(n)]  # per context: its count
    for k in range(n):
        for g, count in grams[k].items():
            total[k][g[:-1]] += count

    def p(c, h):
        prob = 1 / V  # order 0: uniform
        for k in range(n):  # order k + 1 reads the last k characters of h; an unseen context keeps the order below
            ctx = h[len(h) - k:]
            if total[k][ctx]:  # each count − d; the d · kinds freed go to the order below (Python floats: float64)
                prob = (max(grams[k][ctx + c] - d, 0) + d * kinds[k][ctx] * prob) / total[k][ctx]
        return prob
    return p


def counting_loss(n):
    """Held-out loss of Kneser-Ney counting of order n, over every held-out character with n − 1 before it."""
    p, held = kneser_ney(train_text, n), range(n - 1, len(held_text))
    return -sum(math.log(p(held_text[i], held_text[i - n + 1:i])) for i in held) / len(held)


COUNTING = {n: counting_loss(n) for n in range(1, 7)}  # order n → held-out loss
UNIGRAM, BIGRAM, TRIGRAM, BEST_N = COUNTING[1], COUNTING[2], COUNTING[3], min(COUNTING, key=COUNTING.get)
print(f"uniform guess: loss ln V = {math.log(V):.4f}, perplexity {V}")
for n, loss in COUNTING.items():
    name = f"counting, n = {n}" + (" (letter frequencies only)" if n == 1 else " (the best)" if n == BEST_N else "")
    print(f"{name}: loss {loss:.4f}, perplexity {math.exp(loss):.2f}")

# %% hidden
# Each counting distribution sums to 1 over the vocabulary: in contexts of the held-out text and an unseen one.
p5 = kneser_ney(train_text, BEST_N)
contexts = [held_text[i - BEST_N + 1:i] for i in range(BEST_N - 1, len(held_text), 50)] + ["z" * (BEST_N - 1)]
sums = torch.tensor([sum(p5(c, h) for c in vocab) for h in contexts], dtype=F64)
torch.testing.assert_close(sums, torch.ones_like(sums), atol=1e-12, rtol=0.0)
print(f"✓ counting, n = {BEST_N}: p(next | h) sums to 1 over the {V} characters in {len(contexts)} contexts, "
      "seen and unseen (float64, |Δ| ≤ 1e-12)")

# %% [markdown]
# ## 2 · Batches of streams
#
# Lesson 03 read one sequence in order. To use a batch, cut the text into **N streams**, N long contiguous
# stretches read side by side: window k holds steps $kT \dots kT+T-1$ of every stream, so window k + 1
# **continues** window k in every column, and the state at the end of a window is the right start for the next.
#
# ```
# text:     |------ stream 0 ------|------ stream 1 ------|------ stream 2 ------|
# window 0:  [0:T]                  [0:T]                  [0:T]      → x [T, N]
# window 1:      [T:2T]                 [T:2T]                 [T:2T] → x [T, N]
# ```
#
# **Exercise 1: cut the streams.** `stream_windows(ids, N, T)` takes ids [L] and returns the list of windows
# `(x, y)`, each [T, N] (sequence first); `y` is `x` shifted by one character. Each stream has S = (L − 1) // N
# steps (the targets need one character more); stream n is `ids[n·S : (n+1)·S]`. Drop a last window shorter than T.

# %%
def stream_windows(ids, N, T):
    ...  # your code here: return [(x [T, N], y [T, N]), ...], window k = steps k·T … k·T + T − 1 of each stream

# %% hidden
def check_stream_windows(fn):
    """fn on ids 1000 … 1098 (L = 99), N = 3, T = 5: S = 32 steps per stream, 6 whole windows. True/False."""
    L, N, T = 99, 3, 5
    ids = torch.arange(1000, 1000 + L)
    S = (L - 1) // N
    X, Y = ids[:N * S].view(N, S), ids[1:N * S + 1].view(N, S)  # stream n = ids[n·S : (n+1)·S]
    want = [(X[:, k:k + T].T, Y[:, k:k + T].T) for k in range(0, S - T + 1, T)]
    try:
        got = fn(ids.clone(), N, T)
        got = None if got is None else [tuple(w) for w in got]
    except Exception as err:  # report the learner's error instead of raising it
        hint = (" — the targets need one character more than the inputs: S = (L − 1) // N"
                if "shape" in str(err) or "size" in str(err) else "")
        print(f"✗ stream_windows raised {type(err).__name__}: {err}{hint}")
        return False
    if got is None:
        print("✗ not done yet: stream_windows returned None.")
        return False
    if len(got) != len(want):
        hint = ("drop the last window: it has fewer than T steps" if len(got) == len(want) + 1 else
                f"{S} steps per stream make {S // T} whole windows of T = {T}")
        print(f"✗ {len(got)} windows, expected {len(want)}: {hint}.")
        return False
    for k, (w, (x_want, y_want)) in enumerate(zip(got, want)):
        if len(w) != 2 or not all(torch.is_tensor(t) for t in w):
            print(f"✗ window {k} is not a pair (x, y) of tensors.")
            return False
        x, y = w
        if tuple(x.shape) == (N, T) or tuple(y.shape) == (N, T):
            print(f"✗ window {k} is [N, T] = {list(x.shape)}: windows are [T, N], sequence first (transpose).")
            return False
        if tuple(x.shape) != (T, N) or tuple(y.shape) != (T, N):
            print(f"✗ window {k}: x {list(x.shape)}, y {list(y.shape)}, expected [T, N] = [{T}, {N}] each.")
            return False
        if not torch.equal(x, x_want):
            interleaved = torch.equal(got[0][0], ids[:T * N].view(T, N))
            hint = ("each stream must be one contiguous stretch of the text: view the ids as (N, S), then cut "
                    "windows along the steps" if interleaved or torch.equal(got[0][0], ids[:T * N].view(N, T).T)
                    else "window k holds steps k·T … k·T + T − 1 of every stream, stream n = ids[n·S : (n+1)·S]")
            print(f"✗ x of window {k} reads {x[:, 0].tolist()} in column 0, expected {x_want[:, 0].tolist()}: {hint}.")
            return False
        if not torch.equal(y, y_want):
            hint = ("y equals x: the target is the NEXT character, shift by one" if torch.equal(y, x) else
                    "y is x shifted by one character along its stream")
            print(f"✗ y of window {k} is wrong: {hint}.")
            return False
    print(f"✓ stream_windows: {len(want)} windows [T, N] = [{T}, {N}], each continuing the one before in every "
          "stream; y = x shifted by one.")
    return True

# %%
exercise_1_passed = check_stream_windows(stream_windows)

# %% [markdown]
# The lesson's `text_windows` (collapsed: open it after the exercise) stands in until your `stream_windows`
# passes. Our sizes all differ, so that no two axes can be confused: **N = 32 streams, T = 48 steps**, V = 58,
# and below E = 24, H = 128. Column 0 of window 1 continues column 0 of window 0:

# %% hidden
def text_windows(ids, N, T):
    """ids [L] → [(x [T, N], y [T, N]), ...]: N contiguous streams of S = (L − 1) // N steps, read T at a time."""
    S = (len(ids) - 1) // N
    X = ids[:N * S].view(N, S)  # row n = stream n, a contiguous stretch of the text
    Y = ids[1:N * S + 1].view(N, S)  # the next character of each position
    return [(X[:, k:k + T].T, Y[:, k:k + T].T) for k in range(0, S - T + 1, T)]


with contextlib.redirect_stdout(io.StringIO()):  # the checker's verdict on the lesson's own version
    assert check_stream_windows(text_windows), "text_windows must pass exercise 1's check"
print("✓ text_windows passes exercise 1's check")


def yours_or_ours(passed, yours, ours):
    """The learner's function if its exercise passed, else the lesson's; says which."""
    print(f"→ using your {yours.__name__}" if passed else
          f"→ using the lesson's {ours.__name__} (your {yours.__name__} has not passed its check yet)")
    return yours if passed else ours

# %%
cut_windows = yours_or_ours(exercise_1_passed, stream_windows, text_windows)
N, T = 32, 48
windows = list(cut_windows(train_ids, N, T))
x0, y0 = windows[0]
print(f"{len(windows)} windows per pass over the text (an epoch), each x {list(x0.shape)} and y {list(y0.shape)}")
print(f"window 0, stream 0: {decode(windows[0][0][:, 0])!r}")
print(f"window 1, stream 0: {decode(windows[1][0][:, 0])!r}")
print(f"window 0, stream 1: {decode(windows[0][0][:, 1])!r}")

# %% [markdown]
# The alternative, lesson 03's: N windows at **random** places, each read from a zero state. Both are used in
# practice; section 5 compares them.

# %%
def random_windows(ids, N, T, count, gen):
    """count batches (x [T, N], y [T, N]) of N windows at random places (a seeded torch.Generator)."""
    batches = []
    for _ in range(count):
        start = torch.randint(0, len(ids) - T - 1, (N,), generator=gen)
        idx = start + torch.arange(T)[:, None]  # [T, N]
        batches.append((ids[idx], ids[idx + 1]))
    return batches

# %% [markdown]
# ## 3 · The model: embedding → your LSTM → head
#
# An **embedding** replaces lesson 03's one-hot vectors: `nn.Embedding(V, E)` is a table of V learned vectors of
# size E; looking up row i equals multiplying the one-hot vector of i by it. Then the LSTM, then a linear **head**
# to V scores (logits) for the next character:
#
# | tensor | shape |
# |---|---|
# | x (character ids) | [T, N] |
# | embedded | [T, N, E] |
# | LSTM output, (h, c) | [T, N, H], ([1, N, H], [1, N, H]) |
# | logits | [T, N, V] |
#
# The collapsed cell re-states your one-layer `ScratchLSTM` (lesson 08) and checks it against `nn.LSTM`.

# %% hidden
def parity(scratch, twin, *inputs, **tol):
    """Run scratch and twin on the same inputs, forward and backward. Assert (torch.testing.assert_close, **tol)
    that every output and every gradient (of each floating input and of each parameter) match; return the count."""
    def tensors(x):  # the tensors in x, through tuples (an LSTM's (h, c), a PackedSequence)
        return [x] if torch.is_tensor(x) else [t for y in x for t in tensors(y)] if isinstance(x, tuple) else []

    def fresh(x):  # a copy whose floating tensors are new leaves that record gradients
        if torch.is_tensor(x):
            return x.detach().clone().requires_grad_(x.is_floating_point())
        if isinstance(x, tuple):
            parts = [fresh(y) for y in x]
            return type(x)(*parts) if hasattr(x, "_fields") else tuple(parts)
        return x

    runs = []
    for module in (scratch, twin):
        module.zero_grad(set_to_none=True)
        ins = fresh(inputs)
        outs = tensors(module(*ins))
        sum((o**2).sum() for o in outs if o.is_floating_point()).backward()
        runs.append(outs + [t.grad for t in tensors(ins) if t.requires_grad] + [p.grad for p in module.parameters()])
    for ours, theirs in zip(*runs, strict=True):
        torch.testing.assert_close(ours, theirs, **tol)
    return len(runs[0])


def lstm_step(x, h, c, w_ih, w_hh, b_ih=None, b_hh=None, w_hr=None):
    """x [N, d], h [N, H_out], c [N, H] → (h', c'). Gate blocks in torch's order i, f, g, o."""
    i, f, g, o = (F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)).chunk(4, -1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h = torch.sigmoid(o) * torch.tanh(c)
    return (h if w_hr is None else F.linear(h, w_hr)), c


class ScratchLSTM(nn.Module):
    """Lesson 08's ScratchLSTM, one layer: X [T, N, d] → output [T, N, H], (h_n, c_n) each [1, N, H]. What this
    recap does not run (more layers, batch_first, unbatched or packed input, …) it refuses with a clear error."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        for arg, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"ScratchLSTM: {arg} must be a positive int, got {value!r}")
        for arg, value in (("bias", bias), ("batch_first", batch_first), ("bidirectional", bidirectional)):
            if not isinstance(value, bool):
                raise TypeError(f"ScratchLSTM: {arg} must be a bool, got {value!r}")
        if (num_layers, bias, batch_first, dropout, bidirectional, proj_size) != (1, True, False, 0, False, 0):
            raise NotImplementedError("ScratchLSTM (recap) runs one layer with biases, sequence first, no dropout, "
                                      "one direction, no proj_size: lesson 08 builds the rest")
        self.input_size, self.hidden_size = input_size, hidden_size
        kw = {"device": device, "dtype": dtype}
        self.weight_ih_l0 = nn.Parameter(torch.empty(4 * hidden_size, input_size, **kw))
        self.weight_hh_l0 = nn.Parameter(torch.empty(4 * hidden_size, hidden_size, **kw))
        self.bias_ih_l0 = nn.Parameter(torch.empty(4 * hidden_size, **kw))
        self.bias_hh_l0 = nn.Parameter(torch.empty(4 * hidden_size, **kw))
        for p in self.parameters():  # torch's init: U(−1/√H, 1/√H)
            nn.init.uniform_(p, -1.0 / math.sqrt(hidden_size), 1.0 / math.sqrt(hidden_size))

    def forward(self, input, hx=None):
        X, (h, c) = self.check(input, hx)
        out = []
        for x in X:  # one step per character position
            h, c = lstm_step(x, h, c, self.weight_ih_l0, self.weight_hh_l0, self.bias_ih_l0, self.bias_hh_l0)
            out.append(h)
        return torch.stack(out), (h[None], c[None])

    def check(self, X, hx):
        """Refuse clearly what the recap does not take; return X [T, N, d] and the states (h0, c0), each [N, H]."""
        w, H = self.weight_ih_l0, self.hidden_size
        if not torch.is_tensor(X):
            raise TypeError(f"ScratchLSTM: input must be a tensor [T, N, input_size], got {type(X).__name__} "
                            "(packed input: lesson 08)")
        if X.dim() != 3 or 0 in X.shape or X.shape[2] != self.input_size:
            raise ValueError(f"ScratchLSTM: input must be [T ≥ 1, N ≥ 1, input_size = {self.input_size}], got "
                             f"{list(X.shape)} (unbatched input: lesson 08)")
        if X.dtype != w.dtype:
            raise ValueError(f"ScratchLSTM: input dtype {X.dtype} does not match the weights' dtype {w.dtype}")
        if hx is None:
            return X, (X.new_zeros(X.shape[1], H), X.new_zeros(X.shape[1], H))
        if not (isinstance(hx, tuple) and len(hx) == 2 and all(torch.is_tensor(s) for s in hx)):
            raise TypeError(f"ScratchLSTM: hx must be the pair (h0, c0), got {type(hx).__name__}")
        for s, name in zip(hx, ("h0", "c0")):
            if tuple(s.shape) != (1, X.shape[1], H) or s.dtype != w.dtype:
                raise ValueError(f"ScratchLSTM: {name} must be [1, {X.shape[1]}, {H}] {w.dtype}, got "
                                 f"{list(s.shape)} {s.dtype}")
        return X, (hx[0][0], hx[1][0])


def check_recap(device="cpu"):
    """ScratchLSTM = nn.LSTM in float64 (T = 7, N = 3, d = 5, H = 6), given (h0, c0): every output and gradient."""
    torch.manual_seed(1)
    twin = nn.LSTM(5, 6, dtype=F64, device=device)
    mine = ScratchLSTM(5, 6, dtype=F64, device=device)
    mine.load_state_dict(twin.state_dict())
    X, h0, c0 = (torch.randn(*s, dtype=F64, device=device) for s in ((7, 3, 5), (1, 3, 6), (1, 3, 6)))
    return parity(mine, twin, X, (h0, c0), atol=1e-12, rtol=0.0)


print(f"✓ ScratchLSTM = nn.LSTM: {check_recap()} tensors (output, h_n, c_n, every gradient), float64, |Δ| ≤ 1e-12")

# %%
class CharLM(nn.Module):
    """Embedding → LSTM (ScratchLSTM or nn.LSTM) → linear head: x [T, N] ids → logits [T, N, V], state (h, c)."""

    def __init__(self, rnn):
        super().__init__()
        w = rnn.weight_ih_l0  # the embedding and the head take the LSTM's device and dtype
        self.embed = nn.Embedding(V, rnn.input_size, device=w.device, dtype=w.dtype)
        self.rnn = rnn
        self.head = nn.Linear(rnn.hidden_size, V, device=w.device, dtype=w.dtype)

    def forward(self, x, state=None):
        output, state = self.rnn(self.embed(x), state)  # [T, N, E] → [T, N, H]
        return self.head(output), state  # logits [T, N, V]


E, H = 24, 128


def make_model(lstm_class, dtype=torch.float32, seed=1):
    torch.manual_seed(seed)  # the same initial weights for the same seed
    return CharLM(lstm_class(E, H, dtype=dtype))

# %% [markdown]
# ## 4 · Training: carry the state, detach it
#
# One pass over the windows, in order. Each window starts from the state the previous one ended with; `detach`
# keeps its values and cuts the graph, so the gradient flows back at most T = 48 steps (truncated BPTT, lesson 03)
# while the forward pass sees the whole stream. With `carry=False` every window starts from zeros.

# %%
def train_epoch(model, opt, batches, carry=True):
    """One pass of Adam over the batches (x [T, N], y [T, N]); the loss of every step."""
    state, losses = None, []
    for x, y in batches:
        logits, state = model(x, state if carry else None)
        loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))  # the mean over all T·N predictions
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)  # lesson 03
        opt.step()
        state = tuple(s.detach() for s in state)  # the same values, no graph (h, c both)
        losses.append(loss.item())
    return losses

# %% [markdown]
# **Your layer trains like torch's.** Two models with the same initial weights, one on `ScratchLSTM`, one on
# `nn.LSTM`, float64, the first 6 windows with the state carried: if your layer computes what torch's computes,
# forward and backward, the two runs are one run.

# %%
LR = 0.004
twins = {}
for name, lstm_class in (("ScratchLSTM", ScratchLSTM), ("nn.LSTM", nn.LSTM)):
    model = make_model(lstm_class, dtype=F64)
    twins[name] = train_epoch(model, torch.optim.Adam(model.parameters(), lr=LR), windows[:6])
torch.testing.assert_close(torch.tensor(twins["ScratchLSTM"]), torch.tensor(twins["nn.LSTM"]), atol=1e-10, rtol=0.0)
for step, (a, b) in enumerate(zip(twins["ScratchLSTM"], twins["nn.LSTM"]), start=1):
    print(f"step {step}: loss ScratchLSTM {a:.6f}   nn.LSTM {b:.6f}")
print("✓ the same loss at every step, |Δ| ≤ 1e-10 (float64)")

# %% [markdown]
# The real runs below use `nn.LSTM` in float32: the same computation as yours (just asserted).
#
# ## 5 · Train it, and measure it
#
# **Exercise 2: perplexity over batches.** The lesson reads the held-out text in windows of T steps, keeping each
# window's mean loss; the last window is shorter. Write `perplexity(losses, counts)`: `losses` [B] holds each batch's
# **mean** cross-entropy (nats), `counts` [B] how many predictions each batch made; return the perplexity of all
# the predictions together, a number. Once it passes, it computes every held-out perplexity below.

# %%
def perplexity(losses, counts):
    ...  # your code here: the perplexity of all predictions of all batches

# %% hidden
def check_perplexity(fn):
    """fn on three batches of 100, 20 and 40 predictions with mean losses 2.0, 1.0, 1.5 (float64). True/False."""
    losses, counts = torch.tensor([2.0, 1.0, 1.5], dtype=F64), torch.tensor([100, 20, 40])
    mean = ((losses * counts).sum() / counts.sum()).item()  # 1.75 nats per prediction
    want = math.exp(mean)
    try:
        got = fn(losses.clone(), counts.clone())
        got = None if got is None else float(got)
    except Exception as err:  # report the learner's error instead of raising it
        print(f"✗ perplexity raised {type(err).__name__}: {err}")
        return False
    if got is None:
        print("✗ not done yet: perplexity returned None.")
        return False
    if math.isclose(got, want, rel_tol=1e-9):
        print(f"✓ perplexity = exp(mean loss over all predictions) = exp({mean:.2f}) = {want:.4f}")
        return True
    hints = [
        (((losses.exp() * counts).sum() / counts.sum()).item(), "average the losses first, then take exp: the "
         "perplexity is exp of the mean loss, not the mean of the batches' perplexities"),
        (losses.exp().mean().item(), "average the losses first, then take exp (and weight each batch by its count)"),
        (math.exp(losses.mean().item()), "weight each batch's loss by its number of predictions: a batch of 100 "
         "counts five times as much as one of 20"),
        (2 ** mean, "cross_entropy is in nats (natural log): take exp, not 2 **"),
        (mean, "that is the mean loss; the perplexity is its exponential"),
        (math.exp((losses * counts).sum().item()) if (losses * counts).sum() < 700 else math.inf,
         "that is exp of the total loss: divide by the number of predictions"),
    ]
    hint = next((h for value, h in hints if math.isclose(got, value, rel_tol=1e-6)),
                "exp of the mean loss over all predictions")
    print(f"✗ perplexity gives {got:.4f}, expected {want:.4f}: {hint}.")
    return False

# %%
exercise_2_passed = check_perplexity(perplexity)

# %% [markdown]
# `fit` (collapsed) trains for 25 epochs (400 steps) with a progress bar and a live plot of the training and
# **held-out** loss after each epoch:

# %% hidden
def pooled_perplexity(losses, counts):
    """The lesson's answer to exercise 2: exp of the mean loss over every prediction of every batch."""
    return math.exp((losses * counts).sum().item() / counts.sum().item())


with contextlib.redirect_stdout(io.StringIO()):
    assert check_perplexity(pooled_perplexity), "pooled_perplexity must pass exercise 2's check"
perplexity_of = yours_or_ours(exercise_2_passed, perplexity, pooled_perplexity)
PLOT_EVERY = 5  # epochs between two redraws of the live plot


def held_out_windows(model, carry=True, streams=8):
    """The held-out text as `streams` contiguous streams, read T steps at a time (the last window shorter), the
    state carried from window to window or zero at each: every window's mean loss [B] and its count [B]."""
    (x, y), = cut_windows(held_ids, streams, (len(held_ids) - 1) // streams)  # one window of all S steps
    p0, state, losses, counts = next(model.parameters()), None, [], []
    with torch.no_grad():
        for xs, ys in zip(x.split(T), y.split(T)):  # [T, streams] each, the last one [S mod T, streams]
            logits, state = model(xs.to(p0.device), state if carry else None)
            losses.append(F.cross_entropy(logits.reshape(-1, V), ys.to(p0.device).reshape(-1)).item())
            counts.append(ys.numel())
    return torch.tensor(losses, dtype=F64), torch.tensor(counts)


def held_out_loss(model, carry=True):
    """The mean loss over every held-out prediction: the log of their perplexity."""
    return math.log(float(perplexity_of(*held_out_windows(model, carry))))


def draw_history(runs, title="loss and perplexity per epoch"):
    """runs: {label: {'train': [...], 'held_out': [...]}}. Loss (left, every baseline) and perplexity (right, zoomed
    on 4 … 12, log scale) per epoch; each baseline labelled at its line, each run in its own colour and styles."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    fig.subplots_adjust(left=0.07, right=0.89, bottom=0.25, top=0.85, wspace=0.42)
    styles = (("#3c78d8", "--", "-", "o"), ("#cc4125", ":", "-.", "s"))  # colour, train, held out, marker
    baselines = [(math.log(V), "uniform"), (UNIGRAM, "letter freq."), (BIGRAM, "bigram"), (TRIGRAM, "trigram"),
                 (COUNTING[BEST_N], f"{BEST_N}-gram")]
    for ax, fn, unit in ((axes[0], lambda v: v, "loss (nats)"), (axes[1], math.exp, "perplexity")):
        for k, (label, hist) in enumerate(runs.items()):
            epochs = range(1, len(hist["train"]) + 1)
            color, train_ls, held_ls, marker = styles[k % 2]
            ax.plot(epochs, [fn(v) for v in hist["train"]], color=color, ls=train_ls, lw=1, label=f"{label}: train")
            ax.plot(epochs, [fn(v) for v in hist["held_out"]], color=color, ls=held_ls, lw=2, marker=marker,
                    markersize=3, markevery=(2 * k, 5), label=f"{label}: held out")
        for base, name in baselines:
            if ax is axes[0] or 4 <= fn(base) <= 12:
                ax.axhline(fn(base), color="gray", ls=":", lw=1)
                ax.text(1.01, fn(base), f"{name} {fn(base):.2f}" if ax is axes[0] else f"{name} {fn(base):.1f}",
                        transform=ax.get_yaxis_transform(), fontsize=7, color="dimgray", va="center")
        ax.set(xlabel="epoch", ylabel=unit)
    axes[0].set_ylim(1.2, math.log(V) + 0.2)
    axes[1].set_yscale("log")
    axes[1].set_ylim(4, 12)
    axes[1].set_yticks([4, 5, 6, 7, 8, 10, 12], ["4", "5", "6", "7", "8", "10", "12"])
    axes[1].set_title(f"zoomed; off the chart: letter freq. {math.exp(UNIGRAM):.1f}, uniform {V}", fontsize=8)
    axes[0].set_title("gray: counting baselines (held out)", fontsize=8)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=10)
    plt.show()


def fit(model, epochs, batches_for, carry, label, lr=LR, show=True):
    """Train for `epochs` (batches_for(epoch) gives the batches); per epoch the mean train loss and the held-out
    loss. Shows a progress bar and a plot that is redrawn every PLOT_EVERY epochs."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    hist = {"train": [], "held_out": []}
    bar = widgets.IntProgress(value=0, min=0, max=epochs, description=label[:12])
    live = widgets.Output()
    if show:
        display(widgets.VBox([bar, live]))
    for epoch in range(epochs):
        losses = train_epoch(model, opt, batches_for(epoch), carry)
        hist["train"].append(sum(losses) / len(losses))
        hist["held_out"].append(held_out_loss(model))
        bar.value = epoch + 1
        if show and ((epoch + 1) % PLOT_EVERY == 0 or epoch + 1 == epochs):
            with live:
                live.clear_output(wait=True)
                draw_history({label: hist}, f"{label}: epoch {epoch + 1} of {epochs}")
    return hist

# %%
# NBVAL_IGNORE_OUTPUT
EPOCHS = 25
LSTM = nn.LSTM  # LSTM = ScratchLSTM trains on yours: the same model; float32 rounding makes the digits drift
model = make_model(LSTM)
t0 = time.perf_counter()
history = {"carried state": fit(model, EPOCHS, lambda epoch: windows, carry=True, label="carried state")}
best = min(range(EPOCHS), key=lambda e: history["carried state"]["held_out"][e])
print(f"{time.perf_counter() - t0:.0f} s; held-out loss {history['carried state']['held_out'][-1]:.3f} "
      f"(perplexity {math.exp(history['carried state']['held_out'][-1]):.2f}), best at epoch {best + 1}")

# %% [markdown]
# What holds on any machine, with a margin:

# %%
final = history["carried state"]
assert final["held_out"][-1] < UNIGRAM - 1.0, "the model should beat letter frequencies by over 1 nat"
assert final["train"][-1] < final["train"][0] - 1.0, "the training loss should fall by over 1 nat"
assert final["held_out"][-1] < TRIGRAM - 0.03, "the model should beat the trigram's counts"
assert final["held_out"][-1] > COUNTING[BEST_N] + 0.05, f"on 25 KB, the {BEST_N}-gram's counts should beat this LSTM"
print(f"✓ held-out loss: over 1 nat below letter frequencies ({UNIGRAM:.2f}), below the trigram ({TRIGRAM:.2f}), "
      f"above the {BEST_N}-gram ({COUNTING[BEST_N]:.2f}): on 25 KB, well-smoothed counting wins")

# %% [markdown]
# Read the curves: the **training** loss keeps falling; the **held-out** loss falls, then flattens. Trained longer
# (*Going deeper*, offline), it turns up: the model **memorises** its 25 KB; it *overfits*.
#
# A held-out perplexity of about 6.3: the model hesitates as if between 6 equally likely characters. It beats the
# trigram (7.0), but well-smoothed counting beats *it*: the 5-gram reaches 5.5. On 25 KB a table of counts is
# hard to beat. The LSTM offers what a table cannot: a **fixed-size state**, predictions **shared** between
# similar contexts, memory past n characters; with more text, recurrent models pull well ahead (*Going deeper*).

# %% [markdown]
# **Carried state or random windows?** The same model, trained on as many random windows per epoch, each from a
# zero state (`carry=False`), and measured the same way:

# %%
# NBVAL_IGNORE_OUTPUT
gen = torch.Generator().manual_seed(0)
model_random = make_model(LSTM)
history["random windows"] = fit(model_random, EPOCHS, lambda epoch: random_windows(train_ids, N, T, len(windows), gen),
                                carry=False, label="random windows")
print(f"held-out loss: carried state {history['carried state']['held_out'][-1]:.3f}, "
      f"random windows {history['random windows']['held_out'][-1]:.3f}")

# %% hidden
draw_history(history, "carried state vs random windows: the same model, the same number of steps")
assert all(h["held_out"][-1] < UNIGRAM - 1.0 for h in history.values()), "both should beat letter frequencies"
print("✓ both ways learn: held-out loss more than 1 nat below letter frequencies only")

# %% [markdown]
# Both were measured with the state carried. What does that buy? Read the held-out text again with a **zero
# state at every window**:

# %%
# NBVAL_IGNORE_OUTPUT
reads = {name: (held_out_loss(m, carry=True), held_out_loss(m, carry=False))
         for name, m in (("carried state", model), ("random windows", model_random))}
print("held-out loss        state carried   zero state at each window")
for name, (carried, zero) in reads.items():
    print(f"{name:>14} model   {carried:.3f}           {zero:.3f}")
assert all(carried < zero - 0.01 for carried, zero in reads.values()), "context before the window should help"
loses = {name: zero - carried for name, (carried, zero) in reads.items()}
assert loses["carried state"] > loses["random windows"] + 0.01, "the carried-state model should lean on the state"

# %% [markdown]
# With a zero state, each window's first characters lose their context: both models do worse, the carried-state
# model most (about 0.08 nats against 0.03), as it learnt to lean on the state carried in.
# - **carried state** teaches the model to read a state carried in over hundreds of steps (a stream is 792; the
#   state restarts each epoch). But `detach` stops the gradient at each window's start: nothing trains it to
#   *store* anything for more than T = 48 steps, the core limit of truncated BPTT. Right for long continuous text,
#   as when it generates.
# - **random windows, fresh state**: independent, more varied batches, never more than T characters of context.
#   Right when the examples *are* independent (sentences, reviews) or T covers the context that matters; here it
#   ends a little ahead (in this run, and in 10 of 10 seeds offline).
#
# ## 6 · Writing: greedy, temperature, top-k
#
# To write, feed the prompt, take the logits of the last position, **pick** the next character, feed it back, and
# repeat. How to pick:
# - **greedy**: always the most likely character. It soon loops;
# - **sampling with temperature τ**: draw from $\operatorname{softmax}(z/\tau)$, z the logits. τ = 1 is the model's
#   own distribution; τ < 1 sharpens it (safer, more repetitive; τ → 0 is greedy); τ > 1 flattens it (more
#   surprising, more misspelt);
# - **top-k**: first keep only the k largest logits (the others −∞), then sample.
#
# **Exercise 3 (the core of generation): write the sampler.** `sample_next(logits, temperature, generator,
# top_k=None)` takes the logits [V] of one position and returns the id of the next character, an int. Draw with
# `torch.multinomial(probs, 1, generator=generator)`: a seeded generator makes a text reproducible.

# %%
def sample_next(logits, temperature, generator, top_k=None):
    ...  # your code here: scale by the temperature, keep the top k if asked, draw one id from the softmax

# %% hidden
def check_sample_next(fn, draws=2000):
    """Draw `draws` ids from fn on fixed logits [6] at τ = 1, 0.5, 2 and with top_k = 3; compare the frequencies
    with softmax(logits / τ) (top-k: the others −∞). 4.5 standard deviations of slack. True/False."""
    logits = torch.tensor([2.0, 1.0, 0.5, 0.0, -1.0, 1.5])  # V = 6, float32 as the model gives them

    class NotDone(Exception):
        pass

    def expected(tau, k=None, scale=None):
        z = logits * scale if scale is not None else logits / tau
        if k is not None:
            z = z.masked_fill(z < z.topk(k).values[-1], -math.inf)
        return torch.softmax(z.double(), -1)

    def draw(tau, k, seed, n):
        gen = torch.Generator().manual_seed(seed)
        out = []
        for _ in range(n):
            i = fn(logits.clone(), tau, gen, top_k=k)
            if i is None:
                raise NotDone("not done yet: sample_next returned None")
            if torch.is_tensor(i) and i.numel() != 1:
                raise TypeError(f"returned a tensor of shape {list(i.shape)}: return one id")
            out.append(int(i))
        return out

    try:
        torch.manual_seed(1)
        first = draw(1.0, None, 5, 30)
        torch.manual_seed(2)  # another global state: the generator alone must decide
        if draw(1.0, None, 5, 30) != first:
            print("✗ the same seeded generator gave two different texts: pass generator=generator to "
                  "torch.multinomial (or to torch.rand).")
            return False
        for tau, k in ((1.0, None), (0.5, None), (2.0, None), (1.0, 3)):
            ids = draw(tau, k, 7, draws)
            if not all(0 <= i < len(logits) for i in ids):
                print(f"✗ returned ids outside 0 … {len(logits) - 1}.")
                return False
            freq = torch.bincount(torch.tensor(ids), minlength=len(logits)).double() / draws
            want = expected(tau, k)
            if (freq - want).abs().max() <= 0.05:
                continue
            close = lambda p: (freq - p).abs().max() <= 0.05  # noqa: E731
            where = f"τ = {tau}" + (f", top_k = {k}" if k else "")
            if freq.max() == 1.0:
                hint = "always the same id: that is greedy decoding; draw from the probabilities (torch.multinomial)"
            elif k is None and tau != 1.0 and close(expected(tau, scale=tau)):
                hint = "you multiplied the logits by the temperature: divide them by it"
            elif k is None and tau != 1.0 and close(expected(1.0)):
                hint = ("the temperature changed nothing: divide the LOGITS by τ, before the softmax (dividing the "
                        "probabilities is undone when they are normalised)")
            elif k is not None and freq[want == 0].sum() > 0:
                hint = (f"ids outside the top {k} were drawn: set the other logits to −inf (−∞) before the softmax"
                        if close(expected(1.0)) or freq[want == 0].sum() < 0.2 else
                        f"keep the {k} LARGEST logits, set the others to −inf")
            else:
                hint = "the frequencies must follow softmax(logits / τ)"
            print(f"✗ {where}: drew {', '.join(f'{p:.2f}' for p in freq.tolist())}, expected about "
                  f"{', '.join(f'{p:.2f}' for p in want.tolist())}: {hint}.")
            return False
    except NotDone as err:
        print(f"✗ {err}.")
        return False
    except Exception as err:  # report the learner's error instead of raising it
        print(f"✗ sample_next raised {type(err).__name__}: {err}")
        return False
    print("✓ sample_next: frequencies follow softmax(logits / τ) at τ = 0.5, 1, 2 and with top_k = 3; "
          "reproducible with a seeded generator.")
    return True

# %%
exercise_3_passed = check_sample_next(sample_next)

# %% [markdown]
# The lesson's sampler `next_char` (collapsed) stands in until your `sample_next` passes. `generate` reads the
# prompt, then writes `length` characters; temperature 0 means greedy.

# %% hidden
def next_char(logits, temperature, generator, top_k=None):
    """logits [V] → the id of the next character, drawn from softmax(logits / temperature), top-k if asked."""
    scaled = logits / temperature
    if top_k is not None:
        kth_largest = scaled.topk(top_k).values[-1]
        scaled = scaled.masked_fill(scaled < kth_largest, -math.inf)  # only the k largest stay possible
    probs = torch.softmax(scaled, dim=-1)
    return int(torch.multinomial(probs, 1, generator=generator))


with contextlib.redirect_stdout(io.StringIO()):
    assert check_sample_next(next_char), "next_char must pass exercise 3's check"
print("✓ next_char passes exercise 3's check")
pick_next = yours_or_ours(exercise_3_passed, sample_next, next_char)

# %%
@torch.no_grad()
def generate(model, prompt, length, temperature=1.0, top_k=None, seed=0):
    """The prompt and `length` characters written after it (temperature 0: greedy)."""
    gen = torch.Generator().manual_seed(seed)  # on the CPU: the same text for the same seed
    device = next(model.parameters()).device
    logits, state = model(encode(prompt)[:, None].to(device))  # read the prompt: [T, 1] → [T, 1, V]
    written = []
    for _ in range(length):
        z = logits[-1, 0].float().cpu()  # the scores for the character after the last one
        i = int(z.argmax()) if temperature == 0 else int(pick_next(z, temperature, gen, top_k))
        written.append(i)
        logits, state = model(torch.tensor([[i]], device=device), state)  # feed it back, keep the state
    return prompt + decode(written)

# %% [markdown]
# The trained model, greedy, at τ = 0.2, 0.8 and 1.5, and at 1.5 with top-k = 4 (each from seed 0), with two
# crude scores: the share of **real** words (words of the text) and of **distinct** words (low when it loops):

# %% hidden
WORDS = set(re.findall(r"[A-Za-z']+", TEXT))  # every word of the text


def real_words(text):
    """The share of the words in `text` that occur in the text (a crude check: is it English-like?)."""
    found = re.findall(r"[A-Za-z']+", text)
    return sum(w in WORDS for w in found) / max(len(found), 1)


def distinct_words(text):
    """Different words / words in `text`: low when the text repeats itself."""
    found = re.findall(r"[A-Za-z']+", text)
    return len(set(found)) / max(len(found), 1)

# %%
# NBVAL_IGNORE_OUTPUT
samples = {"greedy": generate(model, "MENENIUS:", 250, temperature=0)}
samples.update({f"τ = {tau}": generate(model, "MENENIUS:", 250, temperature=tau) for tau in (0.2, 0.8, 1.5)})
samples["τ = 1.5, top-k 4"] = generate(model, "MENENIUS:", 250, temperature=1.5, top_k=4)
cells = "".join(f"<td style='vertical-align:top'><b>{k}</b> · {real_words(s[9:]):.0%} real, "
                f"{distinct_words(s[9:]):.0%} distinct"
                f"<pre style='white-space:pre-wrap;font-size:11px'>{s}</pre></td>" for k, s in samples.items())
display(HTML(f"<table style='table-layout:fixed;width:100%'><tr>{cells}</tr></table>"))

# %% [markdown]
# Greedy loops, yet scores high on real words: that share rewards loops; the distinct share exposes them. At
# τ = 0.2, real words, still repeating; at 0.8, speakers' names in capitals, a colon and a new line, lines of
# plausible length, half the words real; 1.5 invents words, and top-k = 4 tames it. Averaged over several
# samples, so that one lucky draw cannot decide:

# %%
# NBVAL_IGNORE_OUTPUT
def scores(tau, top_k=None):  # mean (real, distinct) shares of 4 samples of 200 characters (τ = 0: greedy)
    texts = [generate(model, "MENENIUS:", 200, tau, top_k, seed=s)[9:] for s in range(4 if tau else 1)]
    return [sum(score(t) for t in texts) / len(texts) for score in (real_words, distinct_words)]


shares = {f"τ = {t}" if t else "greedy": scores(t) for t in (0, 0.2, 0.8, 1.5)} | {"τ = 1.5, top-k 4": scores(1.5, 4)}
assert shares["τ = 0.2"][0] > 0.6, "at τ = 0.2 most words should be real words of the text"
assert shares["τ = 0.2"][0] > shares["τ = 1.5"][0] + 0.1, "a higher temperature should give fewer real words"
assert shares["τ = 1.5, top-k 4"][0] > shares["τ = 1.5"][0] + 0.1, "top-k should cut the invented words"
assert shares["greedy"][1] < shares["τ = 1.5, top-k 4"][1] - 0.2, "greedy loops: far fewer distinct words"
print("\n".join(f"{k:>16}: {r:4.0%} real, {d:4.0%} distinct words" for k, (r, d) in shares.items()))

# %% [markdown]
# ## 7 · Play
#
# Prompt, temperature and length: the text is rewritten at every change (seed 0: the same settings, the same
# text). Try a speaker's name in capitals and a colon, or the start of a sentence.

# %%
def write(prompt="MENENIUS:", temperature=0.6, length=200):
    """Widget callback: the trained model continues `prompt`. A dict, or None with a message."""
    unknown = sorted(set(prompt) - set(vocab))
    if not prompt:
        print("⚠ type a prompt: the model needs at least one character to start from.")
        return None
    if unknown:
        print(f"⚠ {''.join(unknown)!r} never occurs in the text: the model has no embedding for it. Use letters, "
              "spaces and . , ; : ! ? ' -")
        return None
    if not (isinstance(length, int) and 1 <= length <= 2000) or not 0 <= temperature <= 10:
        print(f"⚠ length {length!r}, temperature {temperature!r}: choose 1 … 2000 characters, τ in 0 … 10.")
        return None
    if temperature == 0:
        print("⚠ τ = 0 would divide by zero; its limit, greedy decoding (always the most likely character), follows.")
    text = generate(model, prompt, length, temperature)
    real, distinct = real_words(text[len(prompt):]), distinct_words(text[len(prompt):])
    print(f"τ = {temperature:.1f}, {length} characters; words: {real:.0%} real, {distinct:.0%} distinct\n")
    print(text)
    return {"text": text, "real_words": real, "distinct_words": distinct}

# %%
# NBVAL_IGNORE_OUTPUT
play = widgets.interactive(
    write,
    prompt=widgets.Text(value="MENENIUS:", description="prompt"),
    temperature=widgets.FloatSlider(value=0.6, min=0.0, max=2.0, step=0.1, description="temperature"),
    length=widgets.IntSlider(value=200, min=20, max=400, step=20, description="length"),
)
display(play)

# %% [markdown]
# The same callback in plain cells: its texts are checked, not printed (they differ from machine to machine);
# the messages for invalid settings are printed.

# %%
with contextlib.redirect_stdout(io.StringIO()):  # the generated texts: checked, not printed
    default, greedy, long = write(), write("First Citizen:", 0.0, 20), write(" ", 2.0, 400)
assert default["text"].startswith("MENENIUS:") and len(default["text"]) == len("MENENIUS:") + 200
assert greedy["text"] == generate(model, "First Citizen:", 20, temperature=0) and len(long["text"]) == 401
print("✓ write: the default, greedy (τ = 0) and τ = 2 with 400 characters all give a text")
assert write("") is None and write("Rome, 1066") is None and write("Rome", -1.0) is None

# %% [markdown]
# ## 8 · Summary
#
# | | |
# |---|---|
# | the data | vocabulary = the text's characters (V = 58); the last 10 % held out |
# | streams | S = (L − 1) // N; `X = ids[:N·S].view(N, S)`, `Y = ids[1:N·S+1].view(N, S)`; window k = `X[:, kT:(k+1)T].T` [T, N] |
# | the model | `nn.Embedding(V, E)` → `ScratchLSTM(E, H)` or `nn.LSTM(E, H)` → `nn.Linear(H, V)`: ids [T, N] → logits [T, N, V] |
# | training | carry `(h.detach(), c.detach())` from window to window: the state flows on, no gradient crosses a window's start (truncated BPTT); clip; Adam |
# | perplexity | exp(mean loss over all predictions); baselines: uniform (58), Kneser-Ney counting (letters 26.5, 5-gram 5.5: on 25 KB, better than this LSTM's 6.3) |
# | generalisation | the **held-out** loss flattens while the training loss falls; trained longer, it turns up: the model memorises |
# | picking | greedy `argmax` (loops); temperature: `softmax(z / τ)`, τ < 1 safer, τ > 1 wilder; top-k: others −∞; `torch.multinomial(p, 1, generator=g)` |
#
# **Next:** lesson 11, speed: why `nn.LSTM` is so much faster than a loop of `lstm_step`, on the CPU and on a GPU.

# %% [markdown] collapsed
# ## Going deeper: a longer run, a bigger model

# %% [markdown]
# **Measured offline** on this course's 2-core CPU (torch 2.13, float32, one thread, 2026-12-02), with this
# notebook's windows (N = 32, T = 48), Adam at 0.004 (0.003 for the bigger model), the held-out loss after each epoch:
#
# | model | epochs | time | best held-out loss (perplexity) | held-out loss at the end | training loss at the end |
# |---|---|---|---|---|---|
# | this lesson's: E = 24, H = 128 | 120 | about 35 s | 1.84 (6.3), epoch 27 | 2.70 (14.9) | 0.49 |
# | 2 layers of H = 256, E = 32, dropout 0.3 between them | 60 | about 4.5 min | 1.81 (6.1), epoch 21 | 2.67 (14.5) | 0.47 |
#
# (Times are rough: the machine was shared with other jobs.) In both, the training loss goes on falling to under
# 0.5 nats, the model nearly knows its 25 KB by heart, while the held-out loss, after its best epoch, climbs back
# to a perplexity of about 15.
#
# So a longer run does not help: it memorises. A bigger model with dropout did barely better (1.81 against
# 1.84), and neither reaches the Kneser-Ney 5-gram's 1.71 (perplexity 5.5) on the same split (section 5). In 10
# runs of the lesson's 25 epochs, seeds 1 … 10 for the weights and the random windows (offline, the same machine
# and torch, 2026-12-03), the held-out loss ended between 1.83 and 1.87 with the state carried (always 0.07 or
# more below the trigram, 0.12 or more above the 5-gram), 0.01 to 0.05 lower with random windows in all 10.
#
# What this model lacks is **text**. On 25 KB a table of counts, smoothed well, is the stronger predictor; but
# the table grows with every new context, while the LSTM's state keeps its size and its weights are shared
# between similar contexts. With more text, that wins: recurrent language models overtook Kneser-Ney counting
# (Mikolov et al., *Recurrent neural network based language model*, 2010; Jozefowicz et al., *Exploring the
# limits of language modeling*, 2016), and char-rnn's well-known Shakespeare samples come from the whole 1 MB
# collection this excerpt is taken from, 40 times more (none of this measured here). With 25 KB, expect names, line breaks, real words and short plausible phrases;
# not sense.

# %% [markdown]
# **On a GPU.** The same model, bigger: 2 layers of H = 512 with dropout 0.3 between them and before the head, an
# embedding of 64, N = 32 streams of T = 128 steps, trained for up to 60 s in float32 on `nn.LSTM` (cuDNN), keeping
# the weights of the best held-out epoch. It starts with your layer's parity on the GPU (float64, TF32 off). Its
# printout is not compared (it names the GPU); without a GPU it prints one line.
#
# Not measured: this lesson was written on a machine without a GPU. Going by the CPU runs above, we would expect
# the best held-out loss early in the minute and not far below 1.8 (the 5-gram's counts: 1.71); the cell keeps
# that epoch's weights.

# %%
# NBVAL_IGNORE_OUTPUT
if DEVICE.type == "cuda":
    saved_tf32 = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    print(f"✓ {torch.cuda.get_device_name()}: ScratchLSTM = nn.LSTM, {check_recap(DEVICE)} tensors, float64")
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved_tf32

    class BigCharLM(CharLM):  # dropout before the head too
        def forward(self, x, state=None):
            output, state = self.rnn(self.embed(x), state)
            return self.head(F.dropout(output, 0.3, self.training)), state

    torch.manual_seed(5)
    big = BigCharLM(nn.LSTM(64, 512, num_layers=2, dropout=0.3, device=DEVICE))
    big_windows = [(x.to(DEVICE), y.to(DEVICE)) for x, y in text_windows(train_ids, 32, 128)]
    opt, budget_s, t0 = torch.optim.Adam(big.parameters(), lr=0.002), 60, time.perf_counter()
    best, epoch, best_state = (math.inf, 0), 0, None
    while time.perf_counter() - t0 < budget_s:
        epoch += 1
        big.train()
        train_epoch(big, opt, big_windows)
        big.eval()
        loss = held_out_loss(big)
        if loss < best[0]:
            best, best_state = (loss, epoch), {k: v.clone() for k, v in big.state_dict().items()}
    big.load_state_dict(best_state)
    print(f"{epoch} epochs in {time.perf_counter() - t0:.0f} s; best held-out loss {best[0]:.3f} (perplexity "
          f"{math.exp(best[0]):.2f}) at epoch {best[1]}; the CPU model above: {history['carried state']['held_out'][-1]:.3f}")
    print(generate(big, "MENENIUS:", 300, temperature=0.6))
else:
    print("No GPU here: skipped (this cell trains a 2-layer, H = 512 model for up to 60 s on CUDA).")

# %% [markdown]
# ## Solutions
#
# Collapsed: click a cell to expand it. Each solution passes its checker; then typical mistakes show what the
# checkers say.

# %% solution
def stream_windows_solution(ids, N, T):
    S = (len(ids) - 1) // N  # steps per stream; the targets need one character more
    X = ids[:N * S].reshape(N, S)  # row n = stream n
    Y = ids[1:N * S + 1].reshape(N, S)
    n_windows = S // T  # whole windows only
    return [(X[:, k * T:(k + 1) * T].T, Y[:, k * T:(k + 1) * T].T) for k in range(n_windows)]


def perplexity_solution(losses, counts):
    total = (losses * counts).sum()  # the summed loss of all predictions
    return torch.exp(total / counts.sum()).item()


def sample_next_solution(logits, temperature, generator, top_k=None):
    z = logits / temperature
    if top_k is not None:
        z = torch.where(z >= torch.topk(z, top_k).values.min(), z, torch.tensor(-math.inf))
    return torch.multinomial(F.softmax(z, dim=-1), num_samples=1, generator=generator).item()


assert check_stream_windows(stream_windows_solution)
assert check_perplexity(perplexity_solution)
assert check_sample_next(sample_next_solution)

# %% solution
# Typical mistakes: the streams interleaved, the batches' perplexities averaged, the logits multiplied by τ.
# (The frequencies a wrong sampler drew come from torch.multinomial: another torch version draws others.)
def interleaved(ids, N, T):
    S = (len(ids) - 1) // N
    X, Y = ids[:N * S].view(S, N), ids[1:N * S + 1].view(S, N)  # column n = every N-th character
    return [(X[k:k + T], Y[k:k + T]) for k in range(0, S - T + 1, T)]


def mean_of_perplexities(losses, counts):
    return ((losses.exp() * counts).sum() / counts.sum()).item()


def hotter_when_colder(logits, temperature, generator, top_k=None):
    return torch.multinomial(torch.softmax(logits * temperature, -1), 1, generator=generator).item()


assert not check_stream_windows(interleaved)
assert not check_perplexity(mean_of_perplexities)
assert not check_sample_next(hotter_when_colder)
